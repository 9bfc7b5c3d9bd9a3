package cgroups

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// writeFile writes one value to a control file of the cgroup dir. Every
// cgroup write in husk goes through here: it refuses names that would
// leave the directory and files that are not on cgroup2, and puts the
// value in its error, since "invalid argument" alone says nothing.
func writeFile(dir, name, value string) error {
	if name == "" || strings.ContainsAny(name, "/\x00") || name == "." || name == ".." {
		return fmt.Errorf("%q: not a cgroup control file name", name)
	}
	path := filepath.Join(dir, name)
	fd, err := unix.Open(path, unix.O_WRONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	var st unix.Statfs_t
	if err := unix.Fstatfs(fd, &st); err != nil || st.Type != unix.CGROUP2_SUPER_MAGIC {
		return fmt.Errorf("%s: not on a cgroup2 filesystem", path)
	}
	for {
		_, err = unix.Write(fd, []byte(value))
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("writing %q to %s: %w", value, path, err)
	}
	return nil
}

func readFile(dir, name string) (string, error) {
	data, err := os.ReadFile(filepath.Join(dir, name))
	return strings.TrimSpace(string(data)), err
}

// controllers returns the controllers available in the cgroup dir
// (its cgroup.controllers file).
func controllers(dir string) (map[string]bool, error) {
	data, err := os.ReadFile(filepath.Join(dir, "cgroup.controllers"))
	if err != nil {
		return nil, err
	}
	set := map[string]bool{}
	for _, c := range strings.Fields(string(data)) {
		set[c] = true
	}
	return set, nil
}

// keyValues parses "key value" lines (cpu.stat, memory.stat, memory.events).
func keyValues(data []byte) map[string]uint64 {
	out := map[string]uint64{}
	for _, line := range bytes.Split(data, []byte("\n")) {
		k, v, ok := bytes.Cut(line, []byte(" "))
		if !ok {
			continue
		}
		var n uint64
		if _, err := fmt.Sscan(string(v), &n); err == nil {
			out[string(k)] = n
		}
	}
	return out
}

var errNoController = errors.New("controller not available")
