#!/usr/bin/env bash
# Build a busybox bundle with `husk spec` and run it, as a new user would.
set -euo pipefail
husk=$(realpath "${1:-./husk}")
bundle=$(mktemp -d /tmp/husk-demo.XXXXXX)
trap 'rm -rf "$bundle"' EXIT
mkdir -p "$bundle/rootfs/bin"
cp /bin/busybox "$bundle/rootfs/bin/busybox"
for applet in $("$bundle/rootfs/bin/busybox" --list); do
	[ "$applet" = busybox ] || ln -s busybox "$bundle/rootfs/bin/$applet"
done
mkdir -p "$bundle/rootfs/"{proc,sys,dev,etc,tmp}
echo 'root:x:0:0:root:/root:/bin/sh' > "$bundle/rootfs/etc/passwd"
cd "$bundle"
"$husk" spec
# Replace the interactive shell with a short script.
sed -i 's|"sh"$|"sh", "-c", "echo hello from $(hostname), pid $$ in a container; id; ls /"|' config.json
echo "+ husk run demo   (bundle $bundle)"
"$husk" run demo
