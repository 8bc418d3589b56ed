#!/usr/bin/env bash
# Installs what the conformance suite runs, into a cache directory that is
# reused across runs: etcd (Debian's etcd-server), Prometheus (Debian's
# prometheus, for the rollout tests) and kube-apiserver + kubectl built from
# the Go module proxy at the version pinned in internal/tools/kube.
# Prints the directory holding the binaries on its last line.
#   usage: internal/tools/install.sh [BIN_DIR]   (default: $MLMESH_TOOLS or ~/.cache/mlmesh/tools)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-${MLMESH_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/mlmesh/tools}}
mkdir -p "$bin"
kube_version=v1.36.3

log() { echo "install: $*" >&2; }

# apt_binary NAME PACKAGE: link NAME from Debian's PACKAGE into $bin,
# installing the package when the binary is missing.
apt_updated=
apt_binary() {
  local name=$1 pkg=$2 path
  [ -x "$bin/$name" ] && return 0
  path=$(command -v "$name" || true)
  if [ -z "$path" ] && [ -x "/usr/bin/$name" ]; then path=/usr/bin/$name; fi
  if [ -z "$path" ]; then
    log "$name: apt-get install $pkg"
    local sudo_=; [ "$(id -u)" = 0 ] || sudo_=sudo
    if [ -z "$apt_updated" ]; then $sudo_ apt-get update -qq >&2; apt_updated=1; fi
    DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq --no-install-recommends "$pkg" >&2
    path=$(command -v "$name" || echo "/usr/bin/$name")
  fi
  ln -sf "$path" "$bin/$name"
}
apt_binary etcd etcd-server
apt_binary prometheus prometheus

stamp="$bin/.kube-$kube_version"
if [ ! -x "$bin/kube-apiserver" ] || [ ! -x "$bin/kubectl" ] || [ ! -e "$stamp" ]; then
  log "building kube-apiserver and kubectl $kube_version into $bin (cold: 5-11 min)"
  ldflags="-X k8s.io/component-base/version.gitVersion=$kube_version -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=36"
  (cd "$here/kube" && GOFLAGS=-mod=mod go build -trimpath -ldflags "$ldflags" -o "$bin/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver >&2)
  (cd "$here/kube" && GOFLAGS=-mod=mod go build -trimpath -ldflags "$ldflags" -o "$bin/kubectl" k8s.io/kubernetes/cmd/kubectl >&2)
  touch "$stamp"
fi
echo "$bin"
