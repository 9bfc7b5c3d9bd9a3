package libcontainer

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"sort"
	"strings"
	"unicode"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// linux.netDevices moves host network devices into the container's
// network namespace. The parent does it, over rtnetlink, once init is
// ready and before anything of the user's runs. In the spec's words:
//
//   - "The runtime MUST check if moving the network interface to the
//     container namespace is possible. If a network device with the
//     specified name already exists in the container namespace, the
//     runtime MUST generate an error, unless the user has provided a
//     template by appending %d to the new name."
//   - "The runtime MUST preserve existing network interface attributes,
//     including all permanent IP addresses (IFA_F_PERMANENT flag) of any
//     family with global scope (RT_SCOPE_UNIVERSE value)."
//   - "The runtime MUST set the network device state to "up" after moving
//     it to the network namespace."
//   - "The runtime MUST NOT attempt to move the interface out of the
//     namespace before deletion." When the namespace dies with the
//     container, the kernel returns physical devices to the initial
//     network namespace (under their name in the container, or devN on a
//     clash) and destroys virtual ones (veth, dummy, macvlan, ...).

// netDeviceName is the name the host device gets in the container:
// "If not specified, the host name is used."
func netDeviceName(host string, d specs.LinuxNetDevice) string {
	if d.Name != "" {
		return d.Name
	}
	return host
}

// isNameTemplate reports whether name asks the kernel to number it.
func isNameTemplate(name string) bool { return strings.HasSuffix(name, "%d") }

// checkIfName checks an interface name as the kernel's dev_valid_name
// does: 1 to 15 bytes, not "." or "..", no '/', ':' or white space. A
// container-side name may end in the template "%d".
func checkIfName(name string, template bool) error {
	base := name
	if template && isNameTemplate(name) {
		base = strings.TrimSuffix(name, "%d")
	}
	switch {
	case name == "":
		return errors.New("an interface name must not be empty")
	case len(name) > unix.IFNAMSIZ-1:
		return fmt.Errorf("%q: an interface name has at most %d bytes", name, unix.IFNAMSIZ-1)
	case name == "." || name == "..":
		return fmt.Errorf("%q: not a valid interface name", name)
	case strings.ContainsAny(base, "/:%") || strings.ContainsFunc(base, unicode.IsSpace):
		return fmt.Errorf("%q: an interface name must not contain '/', ':', '%%' or white space", name)
	}
	return nil
}

// sameNamespace reports whether two ns files are the same namespace.
func sameNamespace(a, b string) bool {
	var sa, sb unix.Stat_t
	if unix.Stat(a, &sa) != nil || unix.Stat(b, &sb) != nil {
		return false
	}
	return sa.Dev == sb.Dev && sa.Ino == sb.Ino
}

// moveNetDevices moves devs from husk's network namespace into the one
// at nsPath. Every device is checked before the first one moves.
func moveNetDevices(devs map[string]specs.LinuxNetDevice, nsPath string) error {
	if len(devs) == 0 {
		return nil
	}
	host, err := openRtnl()
	if err != nil {
		return err
	}
	defer host.close()
	ctr, err := openRtnlIn(nsPath)
	if err != nil {
		return fmt.Errorf("entering the container's network namespace: %w", err)
	}
	defer ctr.close()
	ns, err := os.Open(nsPath)
	if err != nil {
		return err
	}
	defer ns.Close()

	names := make([]string, 0, len(devs))
	for name := range devs {
		names = append(names, name)
	}
	sort.Strings(names)
	links := make([]link, len(names))
	for i, name := range names {
		if links[i], err = checkNetDevice(host, ctr, name, netDeviceName(name, devs[name])); err != nil {
			return fmt.Errorf("linux.netDevices.%s: %w", name, err)
		}
	}
	for i, name := range names {
		if err := moveNetDevice(host, ctr, links[i], netDeviceName(name, devs[name]), int(ns.Fd())); err != nil {
			return fmt.Errorf("linux.netDevices.%s: %w", name, err)
		}
	}
	return nil
}

// checkNetDevice finds the host device and makes sure its name in the
// container is free.
func checkNetDevice(host, ctr *rtnl, name, target string) (link, error) {
	l, err := host.linkByName(name)
	if errors.Is(err, unix.ENODEV) {
		return l, fmt.Errorf("no device %s in husk's network namespace", name)
	}
	if err != nil {
		return l, fmt.Errorf("looking up %s: %w", name, err)
	}
	if isNameTemplate(target) {
		return l, nil
	}
	_, err = ctr.linkByName(target)
	switch {
	case err == nil:
		return l, fmt.Errorf("a device named %s already exists in the container's network namespace", target)
	case !errors.Is(err, unix.ENODEV):
		return l, fmt.Errorf("looking up %s in the container's network namespace: %w", target, err)
	}
	return l, nil
}

// moveNetDevice moves one device: down on the host (so nothing there
// uses it mid-move), moved and renamed in one request, its permanent
// global addresses added back (the kernel drops them on the move), up.
func moveNetDevice(host, ctr *rtnl, l link, target string, nsFD int) error {
	addrs, err := host.addrs(l.index)
	if err != nil {
		return fmt.Errorf("listing the addresses of %s: %w", l.name, err)
	}
	if err := host.setUp(l.index, false); err != nil {
		return fmt.Errorf("setting %s down: %w", l.name, err)
	}
	var before []link
	if isNameTemplate(target) {
		if before, err = ctr.links(); err != nil {
			return fmt.Errorf("listing the container's devices: %w", err)
		}
	}
	if err := host.moveLink(l.index, target, nsFD); err != nil {
		if l.flags&unix.IFF_UP != 0 {
			host.setUp(l.index, true) // as it was
		}
		return fmt.Errorf("moving %s into the container's network namespace as %s: %w", l.name, target, err)
	}
	moved, err := findMoved(ctr, target, before)
	if err != nil {
		return err
	}
	for _, a := range addrs {
		if a.flags&unix.IFA_F_PERMANENT == 0 || a.scope != unix.RT_SCOPE_UNIVERSE {
			continue
		}
		if err := ctr.addAddr(moved.index, a, addrAttrs(a, l.name, moved.name)); err != nil {
			return fmt.Errorf("adding address %s to %s: %w", describeAddr(a), moved.name, err)
		}
	}
	if err := ctr.setUp(moved.index, true); err != nil {
		return fmt.Errorf("setting %s up: %w", moved.name, err)
	}
	return nil
}

// findMoved finds the moved device in the container: by name, or for a
// template, as the device that was not there before.
func findMoved(ctr *rtnl, target string, before []link) (link, error) {
	if !isNameTemplate(target) {
		l, err := ctr.linkByName(target)
		if err != nil {
			return l, fmt.Errorf("finding %s in the container's network namespace: %w", target, err)
		}
		return l, nil
	}
	after, err := ctr.links()
	if err != nil {
		return link{}, fmt.Errorf("listing the container's devices: %w", err)
	}
	old := map[link]bool{}
	for _, l := range before {
		old[link{index: l.index, name: l.name}] = true
	}
	for _, l := range after {
		if !old[link{index: l.index, name: l.name}] && strings.HasPrefix(l.name, strings.TrimSuffix(target, "%d")) {
			return l, nil
		}
	}
	return link{}, fmt.Errorf("finding the device named after %s in the container's network namespace", target)
}

// ifaProto is IFA_PROTO (Linux 6.1), the address's originator.
const ifaProto = 11

// addrAttrs keeps the attributes that define the address. A label named
// after the device ("eth0" or "eth0:1") follows its new name.
func addrAttrs(a addr, oldName, newName string) []nlAttr {
	var out []nlAttr
	for _, at := range a.attrs {
		switch at.typ {
		case unix.IFA_ADDRESS, unix.IFA_LOCAL, unix.IFA_BROADCAST, unix.IFA_FLAGS, unix.IFA_RT_PRIORITY, ifaProto:
			out = append(out, at)
		case unix.IFA_LABEL:
			label := string(trimNUL(at.data))
			if rest, ok := strings.CutPrefix(label, oldName); ok && (rest == "" || rest[0] == ':') && len(newName+rest) < unix.IFNAMSIZ {
				out = append(out, strAttr(unix.IFA_LABEL, newName+rest))
			}
		}
	}
	return out
}

func describeAddr(a addr) string {
	for _, at := range a.attrs {
		if at.typ == unix.IFA_LOCAL || at.typ == unix.IFA_ADDRESS {
			if ip, ok := netip.AddrFromSlice(at.data); ok {
				return netip.PrefixFrom(ip, int(a.prefixLen)).String()
			}
		}
	}
	return "?"
}
