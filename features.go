package main

import (
	"sort"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/runtime-spec/specs-go/features"
	"github.com/urfave/cli/v2"

	"github.com/husk-runtime/husk/libcontainer"
	"github.com/husk-runtime/husk/seccomp"
)

var featuresCommand = &cli.Command{
	Name:  "features",
	Usage: "print what this husk implements, as the runtime-spec features document",
	Action: func(c *cli.Context) error {
		return printJSON(huskFeatures())
	},
}

// huskFeatures reports only what works: engines gate features on it
// (containerd and CRI-O on idmapped mounts and "rro").
func huskFeatures() *features.Features {
	yes, no := true, false
	var namespaces []string
	for _, t := range libcontainer.NamespaceTypes() {
		namespaces = append(namespaces, string(t))
	}
	sort.Strings(namespaces)
	f := &features.Features{
		OCIVersionMin: "1.0.0",
		OCIVersionMax: specs.Version,
		Hooks:         []string{"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"},
		MountOptions:  libcontainer.MountOptions(),
		Linux: &features.Linux{
			Namespaces:   namespaces,
			Capabilities: libcontainer.CapabilityNames(),
			Cgroup:       &features.Cgroup{V1: &no, V2: &yes, Systemd: &no, SystemdUser: &no, Rdma: &yes},
			Seccomp:      seccompFeatures(),
			Apparmor:     &features.Apparmor{Enabled: &yes},
			Selinux:      &features.Selinux{Enabled: &yes},
			IntelRdt:     &features.IntelRdt{Enabled: &yes, Schemata: &yes, Monitoring: &yes},
			MemoryPolicy: &features.MemoryPolicy{
				Modes: libcontainer.MemoryPolicyModes(),
				Flags: libcontainer.MemoryPolicyFlags(),
			},
			MountExtensions: &features.MountExtensions{
				IDMap: &features.IDMap{Enabled: &yes},
			},
			NetDevices: &features.NetDevices{Enabled: &yes},
		},
		Annotations: map[string]string{"io.github.husk-runtime.version": version},
	}
	if v := seccomp.Version(); v != "" {
		f.Annotations["io.github.seccomp.libseccomp.version"] = v
	}
	return f
}

// seccompFeatures: the actions and operators husk compiles, the
// architectures this libseccomp knows, and the flags this kernel takes.
func seccompFeatures() *features.Seccomp {
	enabled := seccomp.Enabled
	if !enabled {
		return &features.Seccomp{Enabled: &enabled}
	}
	return &features.Seccomp{
		Enabled:        &enabled,
		Actions:        seccomp.Actions,
		Operators:      seccomp.Operators,
		Archs:          seccomp.SupportedArchitectures(),
		KnownFlags:     seccomp.KnownFlags,
		SupportedFlags: seccomp.SupportedFlags(),
	}
}
