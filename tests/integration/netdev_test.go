package integration

import (
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/runtime-spec/specs-go/features"
)

// The netDevices tests never touch the host's devices: each makes a
// network namespace of its own (an `unshare --net sleep` holder), creates
// veth pairs there, and runs husk inside it with nsenter, so that husk's
// "host" namespace is the test's. This kernel has no dummy devices.

// pxVeth creates the veth pair name/peer in the namespace of pid.
func pxVeth(t *testing.T, pid int, name, peer string) {
	t.Helper()
	pxIP(t, pid, "link", "add", name, "type", "veth", "peer", "name", peer)
}

// TestNetDevicesMoveRenameAddresses: the device appears in the container
// under its new name, up, with its permanent global addresses and only
// those, and works (a ping to its peer on the test's side). When the
// container's namespace dies with it, the kernel destroys the veth, peer
// included.
func TestNetDevicesMoveRenameAddresses(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	holder := nsUnshareHolder(t, "--net", "--")
	pxVeth(t, holder, "hk0", "hk0p")
	pxIP(t, holder, "addr", "add", "10.99.0.1/24", "dev", "hk0")
	pxIP(t, holder, "addr", "add", "fd00:99::1/64", "dev", "hk0", "nodad")
	pxIP(t, holder, "addr", "add", "10.98.0.1/24", "dev", "hk0", "scope", "host")
	pxIP(t, holder, "addr", "add", "10.99.0.2/24", "dev", "hk0p")
	pxIP(t, holder, "link", "set", "hk0p", "up")

	b := newBundle(t)
	b.Spec.Linux.NetDevices = map[string]specs.LinuxNetDevice{"hk0": {Name: "ctr0"}}
	pxAddCaps(b, "CAP_NET_RAW")
	b.Spec.Process.Args = []string{"sh", "-c", "ls /sys/class/net; ip -o link show ctr0; ip -o addr show dev ctr0; ping -c1 -W5 10.99.0.2"}
	b.save()
	id := newID(t)
	r := pxNetHusk(e, holder, "run", "--bundle", b.Dir, id)
	e.checkGone(id, b)
	if r.Code != 0 {
		t.Fatalf("run: exit %d\nstdout: %s\nstderr: %s", r.Code, r.Stdout, r.Stderr)
	}
	lines := strings.Split(r.Stdout, "\n")
	if len(lines) < 3 || lines[0] != "ctr0" || lines[1] != "lo" {
		t.Errorf("/sys/class/net in the container: %q, want ctr0 and lo", lines)
	}
	for _, want := range []string{"ctr0@", ",UP,", "inet 10.99.0.1/24 ", "inet6 fd00:99::1/64 ", "1 packets received"} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("container output lacks %q:\n%s", want, r.Stdout)
		}
	}
	if strings.Contains(r.Stdout, "10.98.0.1") {
		t.Errorf("a host-scope address was moved:\n%s", r.Stdout)
	}
	// The kernel frees a network namespace asynchronously.
	if !pxLinksGone(t, holder, "hk0", "hk0p", "ctr0") {
		t.Errorf("after delete, the test's namespace has %v: the veth should die with the container's", pxLinks(t, holder))
	}
}

// pxLinksGone waits until none of names is in the namespace of pid.
func pxLinksGone(t *testing.T, pid int, names ...string) bool {
	t.Helper()
	return waitFor(10*time.Second, func() bool {
		links := pxLinks(t, pid)
		for _, n := range names {
			if pxHas(links, n) {
				return false
			}
		}
		return true
	})
}

// TestNetDevicesWhileRunning: the device leaves husk's namespace at
// create, keeps its name when none is given, and is the container's
// (husk exec sees it) until delete.
func TestNetDevicesWhileRunning(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	holder := nsUnshareHolder(t, "--net", "--")
	pxVeth(t, holder, "hk1", "hk1p")
	b := newBundle(t)
	b.Spec.Linux.NetDevices = map[string]specs.LinuxNetDevice{"hk1": {}}
	b.Spec.Process.Args = []string{"sleep", "1000"}
	b.save()
	id := newID(t)
	lcCleanup(e, id)
	if r := pxNetHusk(e, holder, "create", "--bundle", b.Dir, id); r.Code != 0 {
		t.Fatalf("create: exit %d: %s", r.Code, r.Stderr)
	}
	if links := pxLinks(t, holder); pxHas(links, "hk1") || !pxHas(links, "hk1p") {
		t.Errorf("after create, the test's namespace has %v: want hk1p and not hk1", links)
	}
	lcMust(e, "start", id)
	if out := pxExec(e, id, "cat", "/sys/class/net/hk1/flags"); strings.TrimSpace(out) != "0x1003" {
		t.Errorf("hk1's flags in the container: %q, want 0x1003 (IFF_UP|IFF_BROADCAST|IFF_MULTICAST)", out)
	}
	lcMust(e, "delete", "--force", id)
	e.checkGone(id, b)
	if !pxLinksGone(t, holder, "hk1", "hk1p") {
		t.Errorf("after delete, the test's namespace has %v: the veth should die with the container's", pxLinks(t, holder))
	}
}

// TestNetDevicesTemplate: a name ending in %d is numbered by the kernel.
func TestNetDevicesTemplate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	holder := nsUnshareHolder(t, "--net", "--")
	pxVeth(t, holder, "hk2", "hk2p")
	pxVeth(t, holder, "hk3", "hk3p")
	b := newBundle(t)
	b.Spec.Linux.NetDevices = map[string]specs.LinuxNetDevice{"hk2": {Name: "eth%d"}, "hk3": {Name: "eth%d"}}
	b.Spec.Process.Args = []string{"sh", "-c", "cat /sys/class/net/eth0/flags /sys/class/net/eth1/flags"}
	b.save()
	id := newID(t)
	r := pxNetHusk(e, holder, "run", "--bundle", b.Dir, id)
	e.checkGone(id, b)
	if r.Code != 0 || r.Stdout != "0x1003\n0x1003\n" {
		t.Errorf("run: exit %d, %q (want eth0 and eth1, up)\nstderr: %s", r.Code, r.Stdout, r.Stderr)
	}
}

// TestNetDevicesJoinedNamespace: into a namespace the container joins,
// which outlives it. husk does not move the device back: the spec says
// the runtime MUST NOT.
func TestNetDevicesJoinedNamespace(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	holder := nsUnshareHolder(t, "--net", "--")
	target := nsUnshareHolder(t, "--net", "--")
	pxVeth(t, holder, "hk4", "hk4p")
	b := newBundle(t)
	nsSet(b.Spec, specs.NetworkNamespace, "/proc/"+strconv.Itoa(target)+"/ns/net")
	b.Spec.Linux.NetDevices = map[string]specs.LinuxNetDevice{"hk4": {Name: "j0"}}
	b.Spec.Process.Args = []string{"cat", "/sys/class/net/j0/flags"}
	b.save()
	id := newID(t)
	r := pxNetHusk(e, holder, "run", "--bundle", b.Dir, id)
	e.checkGone(id, b)
	if r.Code != 0 || r.Stdout != "0x1003\n" {
		t.Fatalf("run: exit %d, %q\nstderr: %s", r.Code, r.Stdout, r.Stderr)
	}
	if links := pxLinks(t, target); !pxHas(links, "j0") {
		t.Errorf("the joined namespace lost j0 with the container: %v", links)
	}
	if links := pxLinks(t, holder); pxHas(links, "hk4") || !pxHas(links, "hk4p") {
		t.Errorf("husk's namespace: %v, want hk4p only", links)
	}
}

// TestNetDevicesRefused: every failure names the device's JSON path,
// leaves nothing behind, and moves nothing.
func TestNetDevicesRefused(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mutate func(b *bundle, holder int)
		want   string
	}{
		{"no such device", func(b *bundle, _ int) {
			b.Spec.Linux.NetDevices["nosuch0"] = specs.LinuxNetDevice{}
		}, "moving network devices: linux.netDevices.nosuch0: no device nosuch0 in husk's network namespace"},
		// Checked before anything moves: hk5 stays where it is.
		{"name taken in the container", func(b *bundle, _ int) {
			b.Spec.Linux.NetDevices["hk6"] = specs.LinuxNetDevice{Name: "lo"}
		}, "linux.netDevices.hk6: a device named lo already exists in the container's network namespace"},
		{"bad name", func(b *bundle, _ int) {
			b.Spec.Linux.NetDevices["hk6"] = specs.LinuxNetDevice{Name: "a:b"}
		}, `linux.netDevices.hk6.name: "a:b": an interface name must not contain`},
		{"no network namespace", func(b *bundle, _ int) {
			nsRemove(b.Spec, specs.NetworkNamespace)
		}, "linux.netDevices: needs a network namespace in linux.namespaces"},
		{"husk's own namespace", func(b *bundle, holder int) {
			nsSet(b.Spec, specs.NetworkNamespace, "/proc/"+strconv.Itoa(holder)+"/ns/net")
		}, "is husk's own network namespace"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			holder := nsUnshareHolder(t, "--net", "--")
			pxVeth(t, holder, "hk5", "hk5p")
			pxVeth(t, holder, "hk6", "hk6p")
			pxIP(t, holder, "addr", "add", "10.97.0.1/24", "dev", "hk5")
			b := newBundle(t)
			b.Spec.Linux.NetDevices = map[string]specs.LinuxNetDevice{"hk5": {Name: "ctr5"}}
			tc.mutate(b, holder)
			b.save()
			id := newID(t)
			r := pxNetHusk(e, holder, "create", "--bundle", b.Dir, id)
			if r.Code == 0 || !strings.Contains(r.Stderr, tc.want) {
				t.Errorf("create: exit %d, stderr %q; want a failure with %q", r.Code, r.Stderr, tc.want)
			}
			e.checkGone(id, b)
			if out := pxIP(t, holder, "-o", "addr", "show", "dev", "hk5"); !strings.Contains(out, "inet 10.97.0.1/24") {
				t.Errorf("hk5 changed in husk's namespace: %s", out)
			}
		})
	}
}

// TestIntelRdtWithoutResctrl: "If no mounted resctrl pseudo-filesystem
// is available in the runtime mount namespace, the runtime MUST generate
// an error." No machine here has RDT.
func TestIntelRdtWithoutResctrl(t *testing.T) {
	t.Parallel()
	if mounts, _ := os.ReadFile("/proc/self/mountinfo"); strings.Contains(string(mounts), " - resctrl ") {
		t.Skip("resctrl is mounted here")
	}
	e := newEnv(t)
	b := newBundle(t)
	b.Spec.Linux.IntelRdt = &specs.LinuxIntelRdt{ClosID: "gold", L3CacheSchema: "L3:0=f"}
	nsExpectFailureOf(t, e, b, "create", "linux.intelRdt: not supported on this host: no resctrl filesystem is mounted")
}

// TestAnnotationsInState: annotations are kept and reported by state and
// list, as the spec's state has them.
func TestAnnotationsInState(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := newBundle(t)
	want := map[string]string{"org.example.team": "web", "io.kubernetes.cri.sandbox-id": "4711", "empty": ""}
	b.Spec.Annotations = want
	id := e.startDetached(b, "sleep", "1000")
	st := e.state(id)
	got, _ := st["annotations"].(map[string]any)
	if len(got) != len(want) {
		t.Errorf("state annotations: %v, want %v", st["annotations"], want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("state annotation %s = %v, want %q", k, got[k], v)
		}
	}
	var list []map[string]any
	if err := json.Unmarshal([]byte(e.mustHusk("list", "--format", "json")), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0]["annotations"].(map[string]any)["org.example.team"] != "web" {
		t.Errorf("list: %v", list)
	}
}

// TestFeaturesProcessExtras: the features document claims what the
// process extras implement.
func TestFeaturesProcessExtras(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var f features.Features
	if err := json.Unmarshal([]byte(e.mustHusk("features")), &f); err != nil {
		t.Fatal(err)
	}
	l := f.Linux
	if l.NetDevices == nil || l.NetDevices.Enabled == nil || !*l.NetDevices.Enabled {
		t.Errorf("netDevices: %+v", l.NetDevices)
	}
	if r := l.IntelRdt; r == nil || r.Enabled == nil || !*r.Enabled || r.Schemata == nil || !*r.Schemata || r.Monitoring == nil || !*r.Monitoring {
		t.Errorf("intelRdt: %+v", l.IntelRdt)
	}
	m := l.MemoryPolicy
	if m == nil || strings.Join(m.Modes, " ") != "MPOL_BIND MPOL_DEFAULT MPOL_INTERLEAVE MPOL_LOCAL MPOL_PREFERRED MPOL_PREFERRED_MANY MPOL_WEIGHTED_INTERLEAVE" ||
		strings.Join(m.Flags, " ") != "MPOL_F_NUMA_BALANCING MPOL_F_RELATIVE_NODES MPOL_F_STATIC_NODES" {
		t.Errorf("memoryPolicy: %+v", m)
	}
}
