#!/bin/bash
# Builds the real images the end-to-end tests push, as one OCI image layout at OUT:
#   bookworm    Debian 12 (debootstrap minbase + ca-certificates, openssl), one layer
#   multilayer  bookworm plus three layers: 8 MiB of random bytes, a config folder, a whiteout
#   multiarch   an OCI image index over bookworm (linux/amd64) and a second manifest that shares
#               its layer with a config that says linux/arm64 (hand-built: umoci makes no index)
# The layout is built in a temporary folder beside OUT and renamed into place, under a lock,
# so OUT is either absent or complete and concurrent callers build it once.
# The mirror is the one apt uses on this machine; BERTH_DEBIAN_MIRROR overrides it.
# usage: scripts/build-test-image.sh OUT
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 OUT" >&2; exit 2; }
out=$(realpath -m "$1")
mkdir -p "$(dirname "$out")"

exec 9>"$out.lock"
flock 9
[ -f "$out/index.json" ] && exit 0
# leftovers of a build that was killed, unless something is still mounted in them
for old in "$out".tmp.*; do
  [ -d "$old" ] && ! grep -q " $old/" /proc/mounts && rm -rf --one-file-system "$old"
done

mirror() {
  if [ -n "${BERTH_DEBIAN_MIRROR:-}" ]; then echo "$BERTH_DEBIAN_MIRROR"; return; fi
  local f uri
  # deb822 sources: the URIs of a stanza whose Suites name bookworm itself (not -security)
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    uri=$(awk '
      /^[[:space:]]*$/ { if (u != "" && s) { print u; exit } u = ""; s = 0; next }
      /^URIs:/ { u = $2 }
      /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == "bookworm") s = 1 }
      END { if (u != "" && s) print u }' "$f" | head -n1)
    if [ -n "$uri" ]; then echo "$uri"; return; fi
  done
  # one-line sources
  uri=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
    awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i !~ /^\[/) { if ($(i + 1) == "bookworm") { print $i; exit } break } }')
  if [ -n "$uri" ]; then echo "$uri"; return; fi
  echo "no bookworm mirror found in apt's sources; set BERTH_DEBIAN_MIRROR" >&2
  return 1
}

tmp=$(mktemp -d "$out.tmp.XXXXXX")
cleanup() {
  # debootstrap mounts proc and sys inside the target: never delete through a mount
  if grep -q " $tmp/" /proc/mounts; then
    grep " $tmp/" /proc/mounts | awk '{ print $2 }' | sort -r | xargs -r -n1 umount -l || true
  fi
  rm -rf --one-file-system "$tmp"
}
trap cleanup EXIT

rootfs="$tmp/rootfs"
layout="$tmp/layout"
mirror_url=$(mirror)
debootstrap --variant=minbase --include=ca-certificates,openssl bookworm "$rootfs" "$mirror_url" >"$tmp/debootstrap.log" 2>&1 ||
  { tail -n 30 "$tmp/debootstrap.log" >&2; exit 1; }
if grep -q " $rootfs/" /proc/mounts; then
  grep " $rootfs/" /proc/mounts | awk '{ print $2 }' | sort -r | xargs -r -n1 umount
fi
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/log/*.log

umoci init --layout "$layout"
umoci new --image "$layout:bookworm"
umoci config --image "$layout:bookworm" --config.cmd /bin/bash --config.env LANG=C.UTF-8 \
  --config.label org.opencontainers.image.title=berth-test-bookworm
umoci insert --image "$layout:bookworm" --history.created_by 'debootstrap --variant=minbase bookworm' "$rootfs" /

mkdir -p "$tmp/extra/conf.d"
head -c $((8 * 1024 * 1024)) /dev/urandom >"$tmp/extra/random.bin"
printf 'answer = 42\n' >"$tmp/extra/conf.d/berth.conf"
umoci insert --image "$layout:bookworm" --tag multilayer --history.created_by 'add random.bin' "$tmp/extra/random.bin" /opt/berth/random.bin
umoci insert --image "$layout:multilayer" --history.created_by 'add conf.d' "$tmp/extra/conf.d" /etc/berth
umoci insert --image "$layout:multilayer" --history.created_by 'remove motd' --whiteout /etc/motd
umoci gc --layout "$layout"

# multiarch: the arm64 twin gets its own config, so the two manifests differ in digest
blob() { echo "$layout/blobs/sha256/${1#sha256:}"; }
put_blob() { # stdin -> blob; prints "digest size"
  local f d
  f=$(mktemp "$tmp/blob.XXXXXX")
  cat >"$f"
  d=$(sha256sum "$f" | cut -d' ' -f1)
  mv "$f" "$layout/blobs/sha256/$d"
  echo "sha256:$d $(stat -c %s "$layout/blobs/sha256/$d")"
}
amd=$(jq -c '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == "bookworm")' "$layout/index.json")
amd_digest=$(jq -r .digest <<<"$amd")
amd_manifest=$(blob "$amd_digest")
read -r cfg_digest cfg_size < <(jq -c '.architecture = "arm64" | .variant = "v8"' "$(blob "$(jq -r .config.digest "$amd_manifest")")" | tr -d '\n' | put_blob)
read -r arm_digest arm_size < <(jq -c --arg d "$cfg_digest" --argjson s "$cfg_size" '.config.digest = $d | .config.size = $s' "$amd_manifest" | tr -d '\n' | put_blob)
read -r idx_digest idx_size < <(jq -nc \
  --argjson amd "$amd" --arg arm "$arm_digest" --argjson armsize "$arm_size" '{
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.index.v1+json",
    manifests: [
      ($amd | del(.annotations) | .platform = { architecture: "amd64", os: "linux" }),
      { mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $arm, size: $armsize,
        platform: { architecture: "arm64", os: "linux", variant: "v8" } }
    ]
  }' | tr -d '\n' | put_blob)
jq --arg d "$idx_digest" --argjson s "$idx_size" '.manifests += [{
    mediaType: "application/vnd.oci.image.index.v1+json", digest: $d, size: $s,
    annotations: { "org.opencontainers.image.ref.name": "multiarch" } }]' "$layout/index.json" >"$tmp/index.json"
mv "$tmp/index.json" "$layout/index.json"

rm -rf "$rootfs" "$tmp/extra"
mv "$layout" "$out"
