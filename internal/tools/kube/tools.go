//go:build tools

// Package kube pins the Kubernetes control-plane binaries that the conformance
// suite runs: kube-apiserver and kubectl, built from the Go module proxy at the
// version in go.mod, and etcd at the version that Kubernetes release requires
// of etcd's client. It holds no code of mlmesh's; see conformance.
package kube

import (
	_ "go.etcd.io/etcd/server/v3"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
