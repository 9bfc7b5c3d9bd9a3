package libcontainer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/husk-runtime/husk/libcontainer/trace"
	"github.com/husk-runtime/husk/seccomp"
)

// LoadSpec reads bundle/config.json. bundle must be absolute. Syntax errors
// name the line and column so a hand-edited config is easy to fix.
func LoadSpec(bundle string) (*specs.Spec, error) {
	defer trace.T.Begin("load config")()
	name := filepath.Join(bundle, "config.json")
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("reading bundle config: %w", err)
	}
	var spec specs.Spec
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&spec); err != nil {
		return nil, fmt.Errorf("parsing %s: %w", name, describeJSONError(data, err))
	}
	// A second value after the first would be silently ignored: a config
	// pasted twice, or a truncated edit, is an error.
	if off := dec.InputOffset(); len(bytes.TrimSpace(data[off:])) > 0 {
		off += int64(len(data[off:]) - len(bytes.TrimLeft(data[off:], " \t\r\n")))
		return nil, fmt.Errorf("parsing %s: %w", name, atPosition(data, off, errors.New("unexpected data after the top-level value")))
	}
	return &spec, nil
}

// loadConfig is create's first stage, before anything is made: read
// config.json, validate it, and compile its seccomp filter. Every
// rejection is a *SpecError naming the field, or a parse error naming the
// field or the line and column.
func loadConfig(root, bundle string, logf func(level, msg string)) (*specs.Spec, *seccomp.Program, error) {
	spec, err := LoadSpec(bundle)
	if err != nil {
		return nil, nil, err
	}
	if err := Validate(spec, bundle); err != nil {
		return nil, nil, err
	}
	filter, err := compileSeccomp(root, spec.Linux.Seccomp, logf)
	if err != nil {
		return nil, nil, err
	}
	return spec, filter, nil
}

// describeJSONError adds a line:column position to encoding/json's errors.
func describeJSONError(data []byte, err error) error {
	var offset int64
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		offset = syntax.Offset - 1 // Offset counts the offending byte
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		offset = int64(len(data))
		err = errors.New("unexpected end of JSON input")
	case errors.As(err, &typ):
		offset = typ.Offset
		if typ.Field != "" {
			return fmt.Errorf("%s: cannot use JSON %s as %s", typ.Field, typ.Value, typ.Type)
		}
	default:
		return err
	}
	return atPosition(data, offset, err)
}

// atPosition prefixes err with the line and column of byte offset in data.
func atPosition(data []byte, offset int64, err error) error {
	offset = min(max(offset, 0), int64(len(data)))
	line := 1 + bytes.Count(data[:offset], []byte("\n"))
	col := offset - int64(bytes.LastIndexByte(data[:offset], '\n'))
	return fmt.Errorf("line %d, column %d: %w", line, col, err)
}

// rootfsPath returns root.path as an absolute path: relative paths are
// relative to the bundle.
func rootfsPath(bundle string, spec *specs.Spec) string {
	p := spec.Root.Path
	if !filepath.IsAbs(p) {
		p = filepath.Join(bundle, p)
	}
	return filepath.Clean(p)
}
