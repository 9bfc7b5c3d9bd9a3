package libcontainer

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/husk-runtime/husk/libcontainer/trace"
)

// traceEnv tells init (and the intermediate init of the reexec path)
// that the parent traces: init then records its own steps and sends them
// to whoever listens (msgTrace, see sync.go). Off, init records nothing.
const traceEnv = "_HUSK_TRACE"

// initEnv is the environment every init starts with: the sync fd, and
// tracing if this process traces.
func initEnv(syncFD string) []string {
	env := []string{initSyncEnv + "=" + syncFD, initMaxProcs}
	if trace.T != nil {
		env = append(env, traceEnv+"=1")
	}
	return env
}

// cloneArgs names the namespaces cmd's clone creates, and those the
// nsenter constructor joins, for the clone span.
func cloneArgs(cmd *exec.Cmd) map[string]string {
	var created []string
	for _, t := range joinOrder {
		if cmd.SysProcAttr != nil && cmd.SysProcAttr.Cloneflags&nsKinds[t].flag != 0 {
			created = append(created, nsKinds[t].procName)
		}
	}
	args := map[string]string{"new": strings.Join(created, " ")}
	for _, kv := range cmd.Env {
		if v, ok := strings.CutPrefix(kv, nsenterEnv+"="); ok {
			args["nsenter"] = strings.ReplaceAll(v, "\n", "; ")
		}
	}
	return args
}

// startInitTrace turns tracing on in init when the parent asked for it,
// with the span from its clone, when the parent stamped that.
func startInitTrace(name string) {
	v := os.Getenv(traceEnv)
	if v == "" {
		return
	}
	trace.Start(name)
	if us, err := strconv.ParseInt(v, 10, 64); err == nil && us > 1 {
		start := time.UnixMicro(us)
		trace.T.Add("init startup", start, time.Since(start))
	}
}

// sendTrace sends init's spans so far, if it traces. A failure to send
// is ignored: the trace is not worth failing the container for, and the
// next message reports a broken connection anyway.
func sendTrace(conn syncConn) {
	if ev := trace.T.Take(); len(ev) > 0 {
		_ = conn.send(message{Type: msgTrace, Trace: ev})
	}
}

// execTrace times init's last steps, from the start of exec to right
// before execve, and the seccomp filter's load among them. They end
// after the filter is on, when init may make only the syscalls it is
// exempt for: so the message is formatted into a buffer allocated
// before (trace.AppendSpan), and time.Now reads the vDSO. nil when off.
type execTrace struct {
	start, loadStart, loadEnd time.Time
	buf                       []byte
}

func beginExecTrace() *execTrace {
	if trace.T == nil {
		return nil
	}
	return &execTrace{start: time.Now(), buf: make([]byte, 0, 1024)}
}

// loading and loaded bracket the filter's load.
func (t *execTrace) loading() {
	if t != nil {
		t.loadStart = time.Now()
	}
}

func (t *execTrace) loaded() {
	if t != nil {
		t.loadEnd = time.Now()
	}
}

// send ends the exec span and sends it (with the filter's load), right
// before execve.
func (t *execTrace) send(conn syncConn) {
	if t == nil {
		return
	}
	end := time.Now()
	b := append(t.buf, `{"type":"`+msgTrace+`","trace":[`...)
	if !t.loadStart.IsZero() {
		b = trace.AppendSpan(b, "seccomp load", t.loadStart, t.loadEnd.Sub(t.loadStart))
		b = append(b, ',')
	}
	b = trace.AppendSpan(b, "exec", t.start, end.Sub(t.start))
	b = append(b, "]}"...)
	_ = conn.sendRaw(b, nil)
}

// cloneTraced wraps start, which clones cmd, in a "clone" span when
// tracing is on, and stamps the time in cmd's environment right before:
// init makes its first span, "init startup", from it, which covers what
// no process of husk can time itself (fork, execve, the nsenter
// constructor, the Go runtime's start).
func cloneTraced(cmd *exec.Cmd, start func() error) func() error {
	if trace.T == nil {
		return start
	}
	return func() error {
		defer trace.T.BeginArgs("clone", cloneArgs(cmd))()
		for i, kv := range cmd.Env {
			if strings.HasPrefix(kv, traceEnv+"=") {
				cmd.Env[i] = traceEnv + "=" + strconv.FormatInt(time.Now().UnixMicro(), 10)
			}
		}
		return start()
	}
}
