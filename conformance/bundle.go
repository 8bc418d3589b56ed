// Package conformance checks mlmesh's output with the software its users
// run: Istio's own validation, its CRD schemas and CEL rules, its analyzers,
// its config generator (the Envoy routes a sidecar and a gateway receive),
// and a real kube-apiserver. It is a separate module so that the library's
// users never download Istio's control plane.
package conformance

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/json"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// Bundle is one rendered YAML stream and its objects.
type Bundle struct {
	Name    string
	YAML    []byte
	Objects []*unstructured.Unstructured
}

// ParseBundle splits a YAML stream into objects. Numbers decode as int64
// where they are integers, as the API server decodes them.
func ParseBundle(name string, stream []byte) (*Bundle, error) {
	b := &Bundle{Name: name, YAML: stream}
	r := utilyaml.NewYAMLReader(bufioReader(stream))
	for i := 0; ; i++ {
		doc, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", name, i, err)
		}
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		js, err := utilyaml.ToJSON(doc)
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", name, i, err)
		}
		var m map[string]any
		if err := json.Unmarshal(js, &m); err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", name, i, err)
		}
		b.Objects = append(b.Objects, &unstructured.Unstructured{Object: m})
	}
	return b, nil
}

// Describe names an object for messages.
func Describe(u *unstructured.Unstructured) string {
	if u.GetNamespace() == "" {
		return u.GetKind() + " " + u.GetName()
	}
	return u.GetKind() + " " + u.GetNamespace() + "/" + u.GetName()
}

// Namespace returns the bundle's namespace: its Namespace object's name,
// or the namespace of its first namespaced object.
func (b *Bundle) Namespace() string {
	for _, o := range b.Objects {
		if o.GetKind() == "Namespace" {
			return o.GetName()
		}
	}
	for _, o := range b.Objects {
		if o.GetNamespace() != "" {
			return o.GetNamespace()
		}
	}
	return "default"
}

// IsIstio reports whether u is an Istio config object.
func IsIstio(u *unstructured.Unstructured) bool {
	return strings.HasSuffix(u.GroupVersionKind().Group, ".istio.io")
}

// HasCRD reports whether u is of a kind MeshCRDs defines: Istio's, the
// Gateway API's, the Inference Extension's InferencePool.
func HasCRD(u *unstructured.Unstructured) bool {
	g := u.GroupVersionKind().Group
	return IsIstio(u) || g == "gateway.networking.k8s.io" || g == "inference.networking.k8s.io" || g == notForIstio
}

// RepoRoot returns the mlmesh repository root, the parent of this module.
func RepoRoot() string {
	wd, _ := os.Getwd()
	for d := wd; d != "/"; d = filepath.Dir(d) {
		if b, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil && bytes.Contains(b, []byte("module github.com/mlmesh/mlmesh\n")) {
			return d
		}
	}
	return filepath.Dir(wd)
}

// ExampleBundles loads every example's golden files: the examples' own
// tests prove that each program prints exactly its golden file. The
// observe example's are not mesh bundles (dashboards' ConfigMaps and a
// PrometheusRule, which TestPrometheusRuleApplies applies with the
// operator's CRD): they are left out.
func ExampleBundles() ([]*Bundle, error) {
	files, err := filepath.Glob(filepath.Join(RepoRoot(), "examples", "*", "testdata", "*.golden.yaml"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	if len(files) == 0 {
		return nil, fmt.Errorf("no example golden files under %s", RepoRoot())
	}
	var out []*Bundle
	for _, f := range files {
		if filepath.Base(filepath.Dir(filepath.Dir(f))) == "observe" {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		name := strings.TrimSuffix(filepath.Base(f), ".golden.yaml")
		b, err := ParseBundle(name, data)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

// dialectBase is the name of an example's bundle in the Istio dialect,
// from the name of its bundle in any dialect: <name>.gateway and
// <name>.ambient are <name>'s.
func dialectBase(bundle string) string {
	base, _, _ := strings.Cut(bundle, ".")
	return base
}
