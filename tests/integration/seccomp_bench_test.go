package integration

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// BenchmarkSeccompCreate is what Docker's default profile costs husk's
// create (the container is deleted between runs, untimed): compiled by
// libseccomp each time, or read back from the program cache.
//
//	go test -tags seccomp -run '^$' -bench SeccompCreate ./tests/integration/
func BenchmarkSeccompCreate(b *testing.B) {
	profile := []byte(dockerDefault(b))
	for _, c := range []struct {
		name    string
		seccomp bool
		cached  bool
	}{{"none", false, false}, {"docker-default-compiled", true, false}, {"docker-default-cached", true, true}} {
		b.Run(c.name, func(b *testing.B) {
			root, dir := b.TempDir(), benchBundle(b, c.seccomp, profile)
			// Output to a file: the created container holds it open.
			out, err := os.Create(filepath.Join(b.TempDir(), "out"))
			if err != nil {
				b.Fatal(err)
			}
			defer out.Close()
			husk := func(args ...string) {
				cmd := exec.Command(huskBin, append([]string{"--root", root}, args...)...)
				cmd.Stdout, cmd.Stderr = out, out
				if err := cmd.Run(); err != nil {
					data, _ := os.ReadFile(out.Name())
					b.Fatalf("husk %v: %v: %s", args, err, data)
				}
			}
			b.Cleanup(func() { exec.Command(huskBin, "--root", root, "delete", "--force", "bench").Run() })
			for b.Loop() {
				if !c.cached {
					b.StopTimer()
					os.RemoveAll(filepath.Join(root, ".seccomp-cache"))
					b.StartTimer()
				}
				husk("create", "--bundle", dir, "bench")
				b.StopTimer()
				husk("delete", "--force", "bench")
				b.StartTimer()
			}
		})
	}
}

// benchBundle is a busybox bundle running true, with the profile or none.
func benchBundle(b *testing.B, withSeccomp bool, profile []byte) string {
	dir := b.TempDir()
	bin := filepath.Join(dir, "rootfs", "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		b.Fatal(err)
	}
	data, err := os.ReadFile(busyboxPath)
	if err == nil {
		err = os.WriteFile(filepath.Join(bin, "true"), data, 0o755)
	}
	if out, e := exec.Command(huskBin, "spec", "--bundle", dir).CombinedOutput(); err == nil && e != nil {
		b.Fatalf("husk spec: %v: %s", e, out)
	}
	var spec specs.Spec
	if data, err = os.ReadFile(filepath.Join(dir, "config.json")); err == nil {
		err = json.Unmarshal(data, &spec)
	}
	if err != nil {
		b.Fatal(err)
	}
	spec.Process.Args, spec.Process.Terminal = []string{"/bin/true"}, false
	if withSeccomp {
		spec.Linux.Seccomp = new(specs.LinuxSeccomp)
		if err := json.Unmarshal(profile, spec.Linux.Seccomp); err != nil {
			b.Fatal(err)
		}
	}
	if data, err = json.Marshal(&spec); err == nil {
		err = os.WriteFile(filepath.Join(dir, "config.json"), data, 0o644)
	}
	if err != nil {
		b.Fatal(err)
	}
	return dir
}
