#!/bin/bash
# Installs everything the test suite needs on a fresh Debian 12 machine of this project's kind
# (Node.js 20 + npm, PostgreSQL and Redis already running). Idempotent; needs root for apt.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  # real registry clients and image tooling for the end-to-end tests
  skopeo podman buildah umoci debootstrap
  # the peer registry of `npm run bench` (CNCF Distribution 2.8)
  docker-registry
  # a real S3 server for the s3 driver suite: throwaway single-node Ceph + radosgw
  radosgw ceph-mon ceph-osd
  # a real directory for the LDAP tests (scripts/slapd.sh): OpenLDAP, its clients, a TLS certificate
  slapd ldap-utils openssl
  # a real browser for the UI and API-page tests (playwright-core drives it)
  chromium
  # misc tools used by test setup scripts
  curl uuid-runtime jq wrk ca-certificates
  # ab: HTTP load with HEAD requests for `npm run bench` (wrk 4.1 cannot parse HEAD replies)
  apache2-utils
  # the layer analyzers' tests build real inputs: Go binaries, an rpmdb, jars, zstd layers, and
  # read real Debian jars and gemspecs (src/scanner, test/scanner)
  golang-go rpm zstd openjdk-17-jdk-headless ruby libcommons-io-java libcommons-lang3-java libcommons-cli-java
  # Berkeley DB 5.3 tools: the tests write a real Berkeley DB rpmdb (Packages) with db5.3_load
  db5.3-util
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 update -q
  apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${missing[@]}"
fi

npm ci --no-audit --no-fund
