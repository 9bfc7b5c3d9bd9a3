package libcontainer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// rtnl is a NETLINK_ROUTE socket, just enough of rtnetlink(7) to move
// network devices between namespaces: look links up, set them up or
// down, move and rename them, list and add addresses. The socket acts
// in the network namespace of the thread that opened it.
type rtnl struct {
	fd  int
	seq uint32
}

func openRtnl() (*rtnl, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, os.NewSyscallError("socket(NETLINK_ROUTE)", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return nil, os.NewSyscallError("bind(NETLINK_ROUTE)", err)
	}
	return &rtnl{fd: fd}, nil
}

// openRtnlIn opens the socket in the network namespace at nsPath, from a
// thread that joins it and is then thrown away.
func openRtnlIn(nsPath string) (*rtnl, error) {
	var n *rtnl
	err := onNamespaceThread(map[specs.LinuxNamespaceType]string{specs.NetworkNamespace: nsPath}, func() (err error) {
		n, err = openRtnl()
		return err
	})
	return n, err
}

func (n *rtnl) close() { unix.Close(n.fd) }

// nlAttr is one rtattr: type and payload.
type nlAttr struct {
	typ  uint16
	data []byte
}

func strAttr(typ uint16, s string) nlAttr { return nlAttr{typ, append([]byte(s), 0)} }

func u32Attr(typ uint16, v uint32) nlAttr {
	return nlAttr{typ, binary.NativeEndian.AppendUint32(nil, v)}
}

// ifInfo builds an ifinfomsg header (rtnetlink(7)).
func ifInfo(index int32, flags, change uint32) []byte {
	b := make([]byte, unix.SizeofIfInfomsg)
	b[0] = unix.AF_UNSPEC
	binary.NativeEndian.PutUint32(b[4:], uint32(index))
	binary.NativeEndian.PutUint32(b[8:], flags)
	binary.NativeEndian.PutUint32(b[12:], change)
	return b
}

// request sends one message and reads the answer up to its ack (or, for
// a dump, NLMSG_DONE). It returns the answer's messages.
func (n *rtnl) request(typ, flags uint16, header []byte, attrs ...nlAttr) ([]syscall.NetlinkMessage, error) {
	n.seq++
	body := append([]byte{}, header...)
	for _, a := range attrs {
		l := unix.SizeofRtAttr + len(a.data)
		body = binary.NativeEndian.AppendUint16(body, uint16(l))
		body = binary.NativeEndian.AppendUint16(body, a.typ)
		body = append(body, a.data...)
		body = append(body, make([]byte, nlAlign(l)-l)...)
	}
	msg := make([]byte, unix.SizeofNlMsghdr, unix.SizeofNlMsghdr+len(body))
	binary.NativeEndian.PutUint32(msg[0:], uint32(unix.SizeofNlMsghdr+len(body)))
	binary.NativeEndian.PutUint16(msg[4:], typ)
	binary.NativeEndian.PutUint16(msg[6:], flags|unix.NLM_F_REQUEST|unix.NLM_F_ACK)
	binary.NativeEndian.PutUint32(msg[8:], n.seq)
	msg = append(msg, body...)
	if err := unix.Sendto(n.fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return nil, os.NewSyscallError("sendto(netlink)", err)
	}
	return n.receive(flags&unix.NLM_F_DUMP == unix.NLM_F_DUMP)
}

func (n *rtnl) receive(dump bool) ([]syscall.NetlinkMessage, error) {
	var out []syscall.NetlinkMessage
	for {
		// A buffer per datagram: the messages returned point into it.
		buf := make([]byte, 1<<16)
		nr, _, err := unix.Recvfrom(n.fd, buf, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, os.NewSyscallError("recvfrom(netlink)", err)
		}
		msgs, err := syscall.ParseNetlinkMessage(buf[:nr])
		if err != nil {
			return nil, fmt.Errorf("parsing netlink answer: %w", err)
		}
		for _, m := range msgs {
			if m.Header.Seq != n.seq {
				continue
			}
			switch m.Header.Type {
			case unix.NLMSG_DONE:
				return out, nil
			case unix.NLMSG_ERROR:
				if len(m.Data) < 4 {
					return nil, errors.New("short netlink error message")
				}
				if code := int32(binary.NativeEndian.Uint32(m.Data)); code != 0 {
					return nil, unix.Errno(-code)
				}
				if !dump {
					return out, nil
				}
			default:
				out = append(out, m)
			}
		}
	}
}

func nlAlign(l int) int { return (l + unix.NLMSG_ALIGNTO - 1) &^ (unix.NLMSG_ALIGNTO - 1) }

// link is what husk needs to know of a network device.
type link struct {
	index int32
	name  string
	flags uint32
}

// linkByName looks a device up by name (ENODEV if there is none).
func (n *rtnl) linkByName(name string) (link, error) {
	msgs, err := n.request(unix.RTM_GETLINK, 0, ifInfo(0, 0, 0), strAttr(unix.IFLA_IFNAME, name))
	if err != nil {
		return link{}, err
	}
	for _, m := range msgs {
		if l, ok := parseLink(m); ok {
			return l, nil
		}
	}
	return link{}, unix.ENODEV
}

// links lists every device.
func (n *rtnl) links() ([]link, error) {
	msgs, err := n.request(unix.RTM_GETLINK, unix.NLM_F_DUMP, ifInfo(0, 0, 0))
	if err != nil {
		return nil, err
	}
	var out []link
	for _, m := range msgs {
		if l, ok := parseLink(m); ok {
			out = append(out, l)
		}
	}
	return out, nil
}

func parseLink(m syscall.NetlinkMessage) (link, bool) {
	if m.Header.Type != unix.RTM_NEWLINK || len(m.Data) < unix.SizeofIfInfomsg {
		return link{}, false
	}
	l := link{
		index: int32(binary.NativeEndian.Uint32(m.Data[4:])),
		flags: binary.NativeEndian.Uint32(m.Data[8:]),
	}
	attrs, err := syscall.ParseNetlinkRouteAttr(&m)
	if err != nil {
		return link{}, false
	}
	for _, a := range attrs {
		if a.Attr.Type == unix.IFLA_IFNAME {
			l.name = string(trimNUL(a.Value))
		}
	}
	return l, true
}

func trimNUL(b []byte) []byte {
	for i, c := range b {
		if c == 0 {
			return b[:i]
		}
	}
	return b
}

// setUp sets a device's IFF_UP flag, or clears it.
func (n *rtnl) setUp(index int32, up bool) error {
	var flags uint32
	if up {
		flags = unix.IFF_UP
	}
	_, err := n.request(unix.RTM_NEWLINK, 0, ifInfo(index, flags, unix.IFF_UP))
	return err
}

// moveLink moves a device to the network namespace open as nsFD, under
// newName, in one request: no moment exists where either name clashes.
// A newName ending in %d lets the kernel pick a free number.
func (n *rtnl) moveLink(index int32, newName string, nsFD int) error {
	_, err := n.request(unix.RTM_NEWLINK, 0, ifInfo(index, 0, 0),
		strAttr(unix.IFLA_IFNAME, newName), u32Attr(unix.IFLA_NET_NS_FD, uint32(nsFD)))
	return err
}

// addr is one address of a device, as the kernel reported it: the
// ifaddrmsg header and its attributes.
type addr struct {
	family, prefixLen, flags, scope uint8
	attrs                           []nlAttr
}

// addrs lists the addresses of device index.
func (n *rtnl) addrs(index int32) ([]addr, error) {
	msgs, err := n.request(unix.RTM_GETADDR, unix.NLM_F_DUMP, make([]byte, unix.SizeofIfAddrmsg))
	if err != nil {
		return nil, err
	}
	var out []addr
	for i := range msgs {
		m := &msgs[i]
		if m.Header.Type != unix.RTM_NEWADDR || len(m.Data) < unix.SizeofIfAddrmsg ||
			int32(binary.NativeEndian.Uint32(m.Data[4:])) != index {
			continue
		}
		a := addr{family: m.Data[0], prefixLen: m.Data[1], flags: m.Data[2], scope: m.Data[3]}
		attrs, err := syscall.ParseNetlinkRouteAttr(m)
		if err != nil {
			return nil, fmt.Errorf("parsing address: %w", err)
		}
		for _, at := range attrs {
			a.attrs = append(a.attrs, nlAttr{at.Attr.Type, at.Value})
		}
		out = append(out, a)
	}
	return out, nil
}

// addAddr adds a to device index, with the attributes given.
func (n *rtnl) addAddr(index int32, a addr, attrs []nlAttr) error {
	h := make([]byte, unix.SizeofIfAddrmsg)
	h[0], h[1], h[2], h[3] = a.family, a.prefixLen, a.flags, a.scope
	binary.NativeEndian.PutUint32(h[4:], uint32(index))
	_, err := n.request(unix.RTM_NEWADDR, unix.NLM_F_CREATE|unix.NLM_F_EXCL, h, attrs...)
	return err
}
