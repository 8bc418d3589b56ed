package multicluster

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/mlmesh/mlmesh/render"
)

// WriteKustomize writes each cluster's objects as a kustomize base and one
// overlay per cluster, for Argo CD and Flux users:
//
//	dir/base/               the objects every cluster has, the same bytes in each,
//	                        one file per object, and kustomization.yaml listing them
//	dir/overlays/<cluster>/ the cluster's own objects (its Namespace with its
//	                        network, the workloads of the versions it runs, ...)
//	                        and kustomization.yaml: the base, then those
//
// kustomize build dir/overlays/<cluster> gives the cluster's objects (the
// conformance suite builds each with kustomize's own Go API and compares).
// It returns the overlays' directories, in cluster order. What it wrote is
// removed if it fails.
func WriteKustomize(dir string, objs map[string][]render.Object) ([]string, error) {
	clusters := slices.Sorted(maps.Keys(objs))
	shared, own, err := split(clusters, objs)
	if err != nil {
		return nil, err
	}
	var written []string
	dirs := []string{filepath.Join(dir, "base")}
	undo := func(err error) ([]string, error) {
		for _, f := range written {
			os.Remove(f)
		}
		for _, d := range slices.Backward(append(dirs, filepath.Join(dir, "overlays"))) {
			os.Remove(d) // only if empty: what was there before stays
		}
		return nil, fmt.Errorf("multicluster: %w", err)
	}
	files, err := writeKustomization(dirs[0], shared, nil)
	written = append(written, files...)
	if err != nil {
		return undo(err)
	}
	var overlays []string
	for _, c := range clusters {
		d := filepath.Join(dir, "overlays", c)
		dirs = append(dirs, d)
		files, err := writeKustomization(d, own[c], []string{"../../base"})
		written = append(written, files...)
		if err != nil {
			return undo(err)
		}
		overlays = append(overlays, d)
	}
	return overlays, nil
}

// split sorts the clusters' objects into those every cluster has with the
// same bytes, and each cluster's others.
func split(clusters []string, objs map[string][]render.Object) (shared []render.Object, own map[string][]render.Object, err error) {
	type doc struct {
		y   string
		obj render.Object
	}
	byKey := map[string]map[string]doc{} // object key, cluster
	for _, c := range clusters {
		for _, o := range objs[c] {
			y, err := render.MarshalYAML(o)
			if err != nil {
				return nil, nil, err
			}
			k := o.GetObjectKind().GroupVersionKind().GroupKind().String() + "/" + o.GetNamespace() + "/" + o.GetName()
			if byKey[k] == nil {
				byKey[k] = map[string]doc{}
			}
			byKey[k][c] = doc{string(y), o}
		}
	}
	own = map[string][]render.Object{}
	for _, k := range slices.Sorted(maps.Keys(byKey)) {
		per := byKey[k]
		first := per[clusters[0]]
		same := len(per) == len(clusters)
		for _, d := range per {
			same = same && d.y == first.y
		}
		if same {
			shared = append(shared, first.obj)
			continue
		}
		for c, d := range per {
			own[c] = append(own[c], d.obj)
		}
	}
	return shared, own, nil
}

// writeKustomization writes objs into d, one file per object, and a
// kustomization.yaml listing bases then those files; it returns the files
// it wrote.
func writeKustomization(d string, objs []render.Object, bases []string) ([]string, error) {
	files, err := render.WriteDir(d, objs)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	b.WriteString("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n")
	for _, r := range bases {
		b.WriteString("- " + r + "\n")
	}
	for _, f := range files {
		b.WriteString("- " + filepath.Base(f) + "\n")
	}
	k := filepath.Join(d, "kustomization.yaml")
	if err := os.WriteFile(k, []byte(b.String()), 0o644); err != nil {
		return files, err
	}
	return append(files, k), nil
}
