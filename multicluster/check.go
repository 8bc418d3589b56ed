package multicluster

import (
	"bytes"
	"fmt"
	"maps"
	"slices"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/mlmesh/mlmesh/internal/canon"
	"github.com/mlmesh/mlmesh/internal/meshcheck"
	"github.com/mlmesh/mlmesh/render"
)

// Check checks each cluster's objects as a whole, as the clusters' proxies
// will see them once applied: Build's, or what a pipeline made of them.
// Every route's destination resolves in the cluster whose proxies use it —
// its Service and subset (the DestinationRule) there, and pods of it in
// some cluster, as multi-cluster discovery gives every proxy the pods of
// all; and an object that several clusters hold is the same in each, but
// for a version's workloads (their replicas and network are each
// cluster's own). Apply checks first and applies nothing if this fails.
func Check(objs map[string][]render.Object) error {
	var errs field.ErrorList
	live := map[string][]*unstructured.Unstructured{}
	seen := map[string]struct {
		cluster string
		y       []byte
	}{}
	for _, c := range slices.Sorted(maps.Keys(objs)) {
		for _, o := range objs[c] {
			y, err := render.MarshalYAML(o)
			if err != nil {
				return fmt.Errorf("multicluster: cluster %s: %w", c, err)
			}
			u, err := canon.Unstructured(y)
			if err != nil {
				return fmt.Errorf("multicluster: cluster %s: %w", c, err)
			}
			live[c] = append(live[c], u)
			id := render.Describe(o)
			if workloadKinds[o.GetObjectKind().GroupVersionKind().Kind] {
				continue
			}
			if first, ok := seen[id]; ok && !bytes.Equal(first.y, y) {
				errs = append(errs, field.Invalid(field.NewPath("objects").Key(c).Key(id), id, "differs from cluster "+first.cluster+"'s: the clusters disagree on an object they share"))
			} else if !ok {
				seen[id] = struct {
					cluster string
					y       []byte
				}{c, y}
			}
		}
	}
	for _, d := range meshcheck.DanglingAcrossOwn(live) {
		errs = append(errs, field.Invalid(field.NewPath("objects"), d, "a route whose destination does not resolve in the cluster whose proxies use it"))
	}
	if len(errs) == 0 {
		return nil
	}
	return &ValidationError{Spec: "multicluster objects", Errors: errs}
}
