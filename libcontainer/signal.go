package libcontainer

import (
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// ParseSignal accepts what kill(1) does: a number ("9"), a name with or
// without "SIG" in any case ("KILL", "sigterm"), and real-time signals
// as "RTMIN+3" or "RTMAX-1".
func ParseSignal(s string) (unix.Signal, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n <= 0 || n > sigRTMAX {
			return 0, fmt.Errorf("invalid signal %q", s)
		}
		return unix.Signal(n), nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if sig := unix.SignalNum(name); sig != 0 {
		return sig, nil
	}
	if sig, ok := signalAliases[name]; ok {
		return sig, nil
	}
	if n, ok := realtimeSignal(name); ok {
		return unix.Signal(n), nil
	}
	return 0, fmt.Errorf("unknown signal %q", s)
}

// signalAliases are the second names kill(1) and runc accept for a
// number; unix.SignalNum knows only one name per number.
var signalAliases = map[string]unix.Signal{
	"SIGIOT":  unix.SIGIOT,
	"SIGCLD":  unix.SIGCLD,
	"SIGPOLL": unix.SIGPOLL,
}

// realtimeSignal parses SIGRTMIN, SIGRTMIN+N, SIGRTMAX and SIGRTMAX-N.
func realtimeSignal(name string) (int, bool) {
	n := 0
	if rest, ok := strings.CutPrefix(name, "SIGRTMIN"); ok {
		n = sigRTMIN
		if rest != "" {
			off, err := strconv.Atoi(strings.TrimPrefix(rest, "+"))
			if err != nil || rest[0] != '+' {
				return 0, false
			}
			n += off
		}
	} else if rest, ok := strings.CutPrefix(name, "SIGRTMAX"); ok {
		n = sigRTMAX
		if rest != "" {
			off, err := strconv.Atoi(rest)
			if err != nil || rest[0] != '-' {
				return 0, false
			}
			n += off
		}
	} else {
		return 0, false
	}
	return n, n >= sigRTMIN && n <= sigRTMAX
}

// The real-time range as kill -l and glibc number it: the kernel's 32 and
// 33 are taken by C libraries' threading, so RTMIN is 34.
const (
	sigRTMIN = 34
	sigRTMAX = 64
)
