//go:build cgo && seccomp

package seccomp

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// profile decodes a linux.seccomp object written as JSON.
func profile(t *testing.T, js string) *specs.LinuxSeccomp {
	t.Helper()
	var p specs.LinuxSeccomp
	if err := json.Unmarshal([]byte(js), &p); err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	return &p
}

func TestCheckNamesTheField(t *testing.T) {
	tests := []struct{ profile, path, want string }{
		{`{}`, "defaultAction", "must be set"},
		{`{"defaultAction":"SCMP_ACT_NOPE"}`, "defaultAction", "unknown action"},
		{`{"defaultAction":"SCMP_ACT_NOTIFY","listenerPath":"/a"}`, "defaultAction", "cannot be the default"},
		{`{"defaultAction":"SCMP_ACT_ALLOW","defaultErrnoRet":1}`, "defaultErrnoRet", "takes no errno"},
		{`{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":5000}`, "defaultErrnoRet", "largest errno"},
		{`{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86","SCMP_ARCH_PDP11"]}`, "architectures[1]", `"SCMP_ARCH_PDP11": unknown architecture`},
		{`{"defaultAction":"SCMP_ACT_ALLOW","flags":["SECCOMP_FILTER_FLAG_LOG","SECCOMP_FILTER_FLAG_NOPE"]}`, "flags[1]", "unknown flag"},
		{`{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":[],"action":"SCMP_ACT_ERRNO"}]}`, "syscalls[0].names", "at least one"},
		{`{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["read",""],"action":"SCMP_ACT_ERRNO"}]}`, "syscalls[0].names[1]", "empty"},
		{`{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["read"],"action":"SCMP_ACT_ERRNO"},{"names":["read"],"action":"SCMP_ACT_BOOM"}]}`, "syscalls[1].action", "unknown action"},
		{`{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["read"],"action":"SCMP_ACT_KILL","errnoRet":1}]}`, "syscalls[0].errnoRet", "SCMP_ACT_KILL takes no errno"},
		{`{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["read"],"action":"SCMP_ACT_ERRNO","args":[{"index":6,"value":1,"op":"SCMP_CMP_EQ"}]}]}`, "syscalls[0].args[0].index", "0 to 5"},
		{`{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["read"],"action":"SCMP_ACT_ERRNO","args":[{"index":1,"value":1,"op":"SCMP_CMP_ABOUT"}]}]}`, "syscalls[0].args[0].op", "unknown operator"},
		{`{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["read"],"action":"SCMP_ACT_ERRNO","args":[{"index":1,"value":1,"op":"SCMP_CMP_GE"},{"index":1,"value":9,"op":"SCMP_CMP_LE"}]}]}`, "syscalls[0].args[1].index", "same argument"},
		{`{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_NOTIFY"}]}`, "listenerPath", "required by SCMP_ACT_NOTIFY in syscalls[0]"},
		{`{"defaultAction":"SCMP_ACT_ALLOW","listenerMetadata":"m"}`, "listenerMetadata", "without listenerPath"},
		{`{"defaultAction":"SCMP_ACT_ALLOW","listenerPath":"agent.sock","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_NOTIFY"}]}`, "listenerPath", "absolute"},
		{`{"defaultAction":"SCMP_ACT_ALLOW","listenerPath":"/` + strings.Repeat("a", 120) + `","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_NOTIFY"}]}`, "listenerPath", "longer than"},
	}
	for _, tc := range tests {
		err := Check(profile(t, tc.profile))
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Path != tc.path || !strings.Contains(fe.Err.Error(), tc.want) {
			t.Errorf("%s:\n got %v\nwant %s: ...%s...", tc.profile, err, tc.path, tc.want)
		}
	}
}

func TestCheckAccepts(t *testing.T) {
	for _, js := range []string{
		`{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":38}`,
		`{"defaultAction":"SCMP_ACT_TRACE","defaultErrnoRet":7}`,
		`{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86"],"flags":["SECCOMP_FILTER_FLAG_LOG"],
		  "syscalls":[{"names":["read","nosuchcall"],"action":"SCMP_ACT_LOG","args":[{"index":0,"value":1,"op":"SCMP_CMP_EQ"},{"index":5,"value":3,"valueTwo":1,"op":"SCMP_CMP_MASKED_EQ"}]}]}`,
		// listenerPath without notify is ignored, as the spec says.
		`{"defaultAction":"SCMP_ACT_ALLOW","listenerPath":"relative","listenerMetadata":"m"}`,
		`{"defaultAction":"SCMP_ACT_ALLOW","listenerPath":"/run/agent.sock","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_NOTIFY"}]}`,
	} {
		if err := Check(profile(t, js)); err != nil {
			t.Errorf("%s: %v", js, err)
		}
	}
	if err := Check(nil); err != nil {
		t.Errorf("no seccomp: %v", err)
	}
}

func TestLoadFlags(t *testing.T) {
	tests := []struct {
		profile string
		want    uint
	}{
		{`{"defaultAction":"SCMP_ACT_ALLOW"}`, 0},
		{`{"defaultAction":"SCMP_ACT_ALLOW","flags":["SECCOMP_FILTER_FLAG_LOG","SECCOMP_FILTER_FLAG_SPEC_ALLOW"]}`, 0x2 | 0x4},
		// WAIT_KILLABLE_RECV needs a listener; the kernel refuses it alone.
		{`{"defaultAction":"SCMP_ACT_ALLOW","flags":["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]}`, 0},
		{`{"defaultAction":"SCMP_ACT_ALLOW","flags":["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],"listenerPath":"/a","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_NOTIFY"}]}`, 0x20 | 0x8},
		// TSYNC with a listener needs TSYNC_ESRCH.
		{`{"defaultAction":"SCMP_ACT_ALLOW","flags":["SECCOMP_FILTER_FLAG_TSYNC"],"listenerPath":"/a","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_NOTIFY"}]}`, 0x1 | 0x8 | 0x10},
		{`{"defaultAction":"SCMP_ACT_ALLOW","flags":["SECCOMP_FILTER_FLAG_TSYNC"]}`, 0x1},
	}
	for _, tc := range tests {
		if got := loadFlags(profile(t, tc.profile)); got != tc.want {
			t.Errorf("%s: flags %#x, want %#x", tc.profile, got, tc.want)
		}
	}
}
