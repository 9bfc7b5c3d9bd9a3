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
	return &spec, nil
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
