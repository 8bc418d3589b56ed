#!/usr/bin/env bash
# Installs what the conformance suite runs, into a cache directory that is
# reused across runs: Prometheus (Debian's prometheus, for the rollout tests),
# and kube-apiserver, kubectl and etcd built from the Go module proxy at the
# versions pinned in internal/tools/kube. etcd is the 3.6 that Kubernetes
# 1.36 is released with, not Debian's 3.4.23: against an etcd older than
# 3.4.31 the API server serves every List from etcd rather than from its
# watch cache (no consistent reads from cache), which no cluster of this
# Kubernetes version does and which made a List of 2,000 custom resources
# cost the server five times its CPU.
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
apt_binary prometheus prometheus
apt_binary promtool prometheus

etcd_version=$(cd "$here/kube" && go list -m -f '{{.Version}}' go.etcd.io/etcd/server/v3)
etcd_stamp="$bin/.etcd-$etcd_version"
if [ ! -x "$bin/etcd" ] || [ ! -e "$etcd_stamp" ]; then
  log "building etcd $etcd_version into $bin"
  rm -f "$bin/etcd" # an earlier install linked Debian's here
  (cd "$here/kube" && GOFLAGS=-mod=mod go build -trimpath -o "$bin/etcd" go.etcd.io/etcd/server/v3 >&2)
  touch "$etcd_stamp"
fi

stamp="$bin/.kube-$kube_version"
if [ ! -x "$bin/kube-apiserver" ] || [ ! -x "$bin/kubectl" ] || [ ! -e "$stamp" ]; then
  log "building kube-apiserver and kubectl $kube_version into $bin (cold: 5-11 min)"
  ldflags="-X k8s.io/component-base/version.gitVersion=$kube_version -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=36"
  (cd "$here/kube" && GOFLAGS=-mod=mod go build -trimpath -ldflags "$ldflags" -o "$bin/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver >&2)
  (cd "$here/kube" && GOFLAGS=-mod=mod go build -trimpath -ldflags "$ldflags" -o "$bin/kubectl" k8s.io/kubernetes/cmd/kubectl >&2)
  touch "$stamp"
fi
echo "$bin"
