package integration

import (
	"strings"
	"testing"
)

func TestRunEchoes(t *testing.T) {
	e := newEnv(t)
	b := newBundle(t)
	out := e.runIn(b, "echo hello from $(hostname)")
	if strings.TrimSpace(out) != "hello from husk" {
		t.Fatalf("got %q", out)
	}
}
