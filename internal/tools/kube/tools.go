//go:build tools

// Package kube pins the Kubernetes control-plane binaries that the conformance
// suite runs: kube-apiserver and kubectl, built from the Go module proxy at the
// version in go.mod. It holds no code of mlmesh's; see internal/conformance.
package kube

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
