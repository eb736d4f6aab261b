#!/usr/bin/env bash
# Builds the container image the container tests run agents in, from this host's own files: no
# registry is reachable on CI, so the root filesystem is bash, a few coreutils and the libraries
# they load (ldd), imported with `podman import`. ~5 MB; kept in podman's storage between runs
# (remove it with `podman rmi IMAGE`). The tag carries a hash of the file list and contents, so
# an image made from other binaries is never mistaken for this one.
#
#   make-image.sh PODMAN_ARGS...   prints the image name; exit 0 when it exists or was made
set -euo pipefail
tools=(/usr/bin/bash /usr/bin/cat /usr/bin/sleep /usr/bin/id /usr/bin/ls /usr/bin/true)
files=()
for t in "${tools[@]}"; do
    files+=("$t")
    while read -r lib; do files+=("$lib"); done < <(ldd "$t" | grep -o '/[^ ]*')
done
mapfile -t files < <(printf '%s\n' "${files[@]}" | sort -u)
hash=$(for f in "${files[@]}"; do readlink -f "$f"; done | xargs sha256sum | sha256sum | cut -c1-12)
image=localhost/stockade-it-agent:$hash
if podman "$@" image exists "$image"; then
    echo "$image"
    exit 0
fi
root=$(mktemp -d /tmp/stockade-it-image.XXXXXX)
trap 'rm -rf "$root"' EXIT
for f in "${files[@]}"; do
    mkdir -p "$root$(dirname "$f")"
    cp -L "$f" "$root$f"
done
# The usual merged-/usr links, so /bin/bash and the loader's /lib64 paths resolve as on Debian.
[ -e "$root/bin" ] || ln -s usr/bin "$root/bin"
mkdir -p "$root/tmp" "$root/workspace" "$root/proc" "$root/sys" "$root/dev" "$root/etc"
tar -C "$root" -cf "$root.tar" .
trap 'rm -rf "$root" "$root.tar" "$root.log"' EXIT
podman "$@" import "$root.tar" "$image" >/dev/null 2>"$root.log" || { cat "$root.log" >&2; exit 1; }
echo "$image"
