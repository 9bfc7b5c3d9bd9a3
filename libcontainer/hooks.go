package libcontainer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/husk-runtime/husk/libcontainer/trace"
)

// runHooks runs hooks in order, each with the state on stdin, and stops
// at the first failure.
//
// runtime-spec: hooks MUST be called in the listed order; the state of
// the container MUST be passed to hooks over stdin.
func runHooks(kind string, hooks []specs.Hook, state specs.State) error {
	if len(hooks) == 0 {
		return nil
	}
	defer trace.T.BeginOn("hooks", kind)()
	data, err := json.Marshal(state)
	if err != nil {
		return err
	}
	for i, h := range hooks {
		if err := runHook(h, data); err != nil {
			return hookError(kind, i, h, err)
		}
	}
	return nil
}

// hookError names the failed hook by its JSON path, as husk check does.
func hookError(kind string, i int, h specs.Hook, err error) error {
	return &SpecError{Path: fmt.Sprintf("hooks.%s[%d]", kind, i), Err: fmt.Errorf("running %s: %w", h.Path, err)}
}

// runWarnHooks runs every hook in order, each with the state on stdin,
// whatever the ones before did, and returns all their failures: for
// poststart and poststop, whose failures are warnings.
//
// runtime-spec: if any poststart (poststop) hook fails, the runtime MUST
// log a warning, but the remaining hooks and lifecycle continue as if the
// hook had succeeded.
func runWarnHooks(kind string, hooks []specs.Hook, state specs.State) error {
	if len(hooks) == 0 {
		return nil
	}
	defer trace.T.BeginOn("hooks", kind)()
	data, err := json.Marshal(state)
	if err != nil {
		return err
	}
	var errs []error
	for i, h := range hooks {
		if err := runHook(h, data); err != nil {
			errs = append(errs, hookError(kind, i, h, err))
		}
	}
	return errors.Join(errs...)
}

// runHook runs one hook: path, args (args[0] is its argv[0]), and exactly
// env, killed after timeout seconds. A failure carries the hook's stderr.
func runHook(h specs.Hook, state []byte) error {
	ctx := context.Background()
	if h.Timeout != nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(*h.Timeout)*time.Second)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, h.Path)
	if len(h.Args) > 0 {
		cmd.Args = h.Args
	}
	cmd.Env = h.Env
	if cmd.Env == nil {
		cmd.Env = []string{}
	}
	var stderr bytes.Buffer
	cmd.Stdin = bytes.NewReader(state)
	cmd.Stderr = &stderr
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	if ctx.Err() == context.DeadlineExceeded {
		return fmt.Errorf("timed out after %ds", *h.Timeout)
	}
	if err != nil {
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			return fmt.Errorf("%w: %s", err, oneLine(msg))
		}
		return err
	}
	return nil
}

// oneLine joins a hook's stderr lines, so the error stays one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ")), " ")
}
