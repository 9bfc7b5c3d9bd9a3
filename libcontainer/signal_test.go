package libcontainer

import (
	"testing"

	"golang.org/x/sys/unix"
)

func TestParseSignal(t *testing.T) {
	good := []struct {
		in   string
		want unix.Signal
	}{
		{"9", unix.SIGKILL},
		{"15", unix.SIGTERM},
		{"1", unix.SIGHUP},
		{"64", 64},
		{"KILL", unix.SIGKILL},
		{"SIGKILL", unix.SIGKILL},
		{"kill", unix.SIGKILL},
		{"sigterm", unix.SIGTERM},
		{"SigHup", unix.SIGHUP},
		{"TERM", unix.SIGTERM},
		{"USR1", unix.SIGUSR1},
		{"usr2", unix.SIGUSR2},
		{"WINCH", unix.SIGWINCH},
		{"CHLD", unix.SIGCHLD},
		{"STOP", unix.SIGSTOP},
		{"CONT", unix.SIGCONT},
		{"PWR", unix.SIGPWR},
		{"IO", unix.SIGIO},
		// Aliases kill(1), bash and runc accept.
		{"IOT", unix.SIGIOT},
		{"SIGCLD", unix.SIGCHLD},
		{"POLL", unix.SIGIO},
		// Real-time signals as kill -l numbers them (glibc: RTMIN = 34).
		{"RTMIN", 34},
		{"SIGRTMIN", 34},
		{"rtmin", 34},
		{"RTMIN+1", 35},
		{"SIGRTMIN+3", 37},
		{"RTMIN+30", 64},
		{"RTMAX", 64},
		{"SIGRTMAX-1", 63},
		{"rtmax-30", 34},
		{"RTMAX-0", 64},
	}
	for _, tc := range good {
		got, err := ParseSignal(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseSignal(%q) = %d, %v; want %d", tc.in, int(got), err, int(tc.want))
		}
	}
	bad := []string{
		"", "0", "-1", "-9", "65", "100", "FOO", "SIGFOO", "SIG", "KILL9", "SIG KILL", " 9",
		"RTMIN+31", "RTMIN-1", "RTMIN+", "RTMIN3", "RTMIN+-1", "RTMAX+1", "RTMAX-31",
		"RTMAX1", "RTMIN+x",
	}
	for _, in := range bad {
		if got, err := ParseSignal(in); err == nil {
			t.Errorf("ParseSignal(%q) = %d, want an error", in, int(got))
		}
	}
}

func TestParseSignalErrorNamesInput(t *testing.T) {
	for _, in := range []string{"FOO", "99"} {
		_, err := ParseSignal(in)
		if err == nil || !contains(err.Error(), `"`+in+`"`) {
			t.Errorf("ParseSignal(%q): error %v should quote the input", in, err)
		}
	}
}
