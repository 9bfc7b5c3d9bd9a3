package cgroups

import (
	"sort"
	"strings"
)

// cgroupCoreKeys are the cgroup.* files unified may set; the others
// (cgroup.procs, cgroup.subtree_control, cgroup.kill, ...) belong to the
// runtime.
var cgroupCoreKeys = map[string]bool{"cgroup.max.depth": true, "cgroup.max.descendants": true}

// setUnified writes linux.resources.unified verbatim. Each key must be a
// plain file name of a controller available to this cgroup, so it can
// neither escape the cgroup directory nor touch the runtime's own files.
func setUnified(s *setter, unified map[string]string) error {
	keys := make([]string, 0, len(unified))
	for k := range unified {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, key := range keys {
		field := "unified." + key
		controller, _, ok := strings.Cut(key, ".")
		switch {
		case !ok || strings.ContainsAny(key, "/\x00") || strings.Contains(key, ".."):
			return fieldErr(field, "not a cgroup control file name")
		case controller == "cgroup" && !cgroupCoreKeys[key]:
			return fieldErr(field, "belongs to the runtime and cannot be set")
		case controller == "cgroup":
			if err := writeFile(s.dir, key, unified[key]); err != nil {
				return fieldErr(field, "%v", err)
			}
			continue
		case !s.avail[controller]:
			return fieldErr(field, "the %s controller is not available in %s%s", controller, s.dir, hybridNote())
		}
		if err := s.write(controller, field, key, unified[key]); err != nil {
			return err
		}
	}
	return nil
}
