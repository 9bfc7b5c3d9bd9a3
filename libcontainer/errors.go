package libcontainer

import (
	"errors"
	"fmt"
)

// Sentinel errors. Their words are part of the engine contract:
// containerd and CRI-O match "container not running" and "does not exist".
var (
	ErrNotExist   = errors.New("container does not exist")
	ErrExist      = errors.New("container already exists")
	ErrNotRunning = errors.New("container not running")
	ErrRunning    = errors.New("container is running")
	ErrNotCreated = errors.New("container is not in created state")
	ErrPaused     = errors.New("container is paused")
)

// SpecError is a problem with one field of config.json. Path is the field's
// JSON path as a user would write it: "linux.namespaces[2].path".
type SpecError struct {
	Path string
	Err  error
}

func (e *SpecError) Error() string { return e.Path + ": " + e.Err.Error() }
func (e *SpecError) Unwrap() error { return e.Err }

// specErrorf builds a SpecError for path with a formatted reason.
func specErrorf(path, format string, args ...any) error {
	return &SpecError{Path: path, Err: fmt.Errorf(format, args...)}
}

// InitError is a failure reported by the container's init process. Step
// names the stage that failed ("mounting /proc", "exec").
type InitError struct {
	Step string
	Msg  string
}

func (e *InitError) Error() string {
	if e.Step == "" {
		return e.Msg
	}
	return e.Step + ": " + e.Msg
}
