#!/usr/bin/env bash
# Installs the HTTP/2 servers the conformance suite (test/conformance/) runs pushline's clients
# against — servers pushline did not write — then prints the environment the tests read, as
# `export NAME=value` lines on stdout (everything else goes to stderr):
#
#   bash .ci/conformance-servers.sh /tmp/conformance.env && source /tmp/conformance.env
#
# The optional first argument is a file the export lines are also written to.
#  - nghttpd (Debian's nghttp2-server) and nginx: Debian's packages, binaries used as they are
#    (each test starts its own instance on a free loopback port; Debian's nginx service is
#    never started).
#  - Go's golang.org/x/net/http2 server: test/conformance/go-server/main.go built offline
#    against Debian's golang-go and golang-golang-x-net-dev (no module download), into
#    PUSHLINE_CI_DIR (outside the repository).
# Works as root on a fresh Debian 12 machine and is idempotent: a second run installs nothing,
# rebuilds the Go server only when its source changed, and prints the same lines.
set -euo pipefail
# shellcheck source=.ci/apt-install.sh
source "$(dirname "${BASH_SOURCE[0]}")/apt-install.sh"
cd "$(dirname "$0")/.."

CI_DIR="${PUSHLINE_CI_DIR:-/var/lib/pushline-ci}"
GO_SERVER="$CI_DIR/go-h2-server"
GO_SOURCE="test/conformance/go-server/main.go"

log() { echo "conformance-servers.sh: $*" >&2; }

# nginx lives in /usr/sbin, which a non-root PATH may lack.
find_bin() { PATH="$PATH:/usr/sbin:/sbin" command -v "$1" 2>/dev/null || true; }

missing=()
[[ -n "$(find_bin nghttpd)" ]] || missing+=(nghttp2-server)
[[ -n "$(find_bin nginx)" ]] || missing+=(nginx)
[[ -n "$(find_bin go)" ]] || missing+=(golang-go)
[[ -d /usr/share/gocode/src/golang.org/x/net/http2 ]] || missing+=(golang-golang-x-net-dev)

if ((${#missing[@]} > 0)); then
  log "installing Debian's ${missing[*]}"
  apt_install_quietly --no-install-recommends "${missing[@]}"
fi

NGHTTPD="$(find_bin nghttpd)"
NGINX="$(find_bin nginx)"
GO="$(find_bin go)"
for pair in "nghttpd:$NGHTTPD" "nginx:$NGINX" "go:$GO"; do
  [[ -n "${pair#*:}" ]] || { log "${pair%%:*} is still missing after the install"; exit 1; }
done

# Rebuild the Go server when its binary is missing or older than its source.
mkdir -p "$CI_DIR"
if [[ ! -x "$GO_SERVER" || "$GO_SOURCE" -nt "$GO_SERVER" ]]; then
  log "building $GO_SERVER from $GO_SOURCE ($("$GO" version))"
  build_dir="$(mktemp -d)"
  # Offline: Debian's packaged x/net in GOPATH, no modules, no proxy; caches in a temp dir.
  GO111MODULE=off GOPATH=/usr/share/gocode GOPROXY=off GOFLAGS= GOCACHE="$build_dir/cache" \
    "$GO" build -o "$GO_SERVER.new" "./$GO_SOURCE" >&2 ||
    { rm -rf "$build_dir"; log "go build failed"; exit 1; }
  rm -rf "$build_dir"
  mv "$GO_SERVER.new" "$GO_SERVER"
fi

log "$("$NGHTTPD" --version 2>&1 | head -n 1), $("$NGINX" -v 2>&1), Go server $GO_SERVER"
exports="export PUSHLINE_NGHTTPD=$NGHTTPD
export PUSHLINE_NGINX=$NGINX
export PUSHLINE_GO_H2_SERVER=$GO_SERVER"
if [[ -n "${1:-}" ]]; then printf '%s\n' "$exports" >"$1"; fi
echo "$exports"
