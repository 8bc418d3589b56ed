package render

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"reflect"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"github.com/mlmesh/mlmesh/internal/canon"
)

// Object is what render takes: a Kubernetes object with metadata, as every
// typed Kubernetes and Istio API object is (and controller-runtime's
// client.Object).
type Object interface {
	metav1.Object
	runtime.Object
}

// SetKinds fills in apiVersion and kind on objects that lack them, for the
// Kubernetes and Istio types render knows, by setting their TypeMeta. It
// returns an error naming the first object whose kind it cannot tell. YAML,
// JSON, WriteDir, Encoder and Apply call it, so they too set a missing
// TypeMeta on the objects they are given; they change nothing else.
func SetKinds(objs []Object) error {
	for i, o := range objs {
		if o == nil || reflect.ValueOf(o).IsNil() {
			return fmt.Errorf("render: object %d is nil", i)
		}
		if !o.GetObjectKind().GroupVersionKind().Empty() {
			continue
		}
		kinds, _, err := canon.Scheme.ObjectKinds(o)
		if err != nil || len(kinds) == 0 {
			return fmt.Errorf("render: object %d (%T %q): apiVersion and kind are not set and the type is not one render knows; set TypeMeta", i, o, o.GetName())
		}
		o.GetObjectKind().SetGroupVersionKind(kinds[0])
	}
	return nil
}

// Sorted returns the objects in the order of Sort, in a new slice, after
// setting their kinds (SetKinds) and checking that each has a name and
// none appears twice: the objects as YAML writes them and apply applies
// them.
func Sorted(objs []Object) ([]Object, error) {
	if err := SetKinds(objs); err != nil {
		return nil, err
	}
	sorted := append([]Object(nil), objs...)
	Sort(sorted)
	seen := make(map[string]int, len(sorted))
	for i, o := range sorted {
		if o.GetName() == "" {
			return nil, fmt.Errorf("render: %s with no name", describe(o))
		}
		k := identity(o)
		if _, dup := seen[k]; dup {
			return nil, fmt.Errorf("render: %s appears twice", describe(o))
		}
		seen[k] = i
	}
	return sorted, nil
}

func identity(o Object) string {
	gvk := o.GetObjectKind().GroupVersionKind()
	return gvk.Group + "/" + gvk.Kind + "/" + o.GetNamespace() + "/" + o.GetName()
}

// describe names an object for messages: "VirtualService ns/name".
func describe(o Object) string { return canon.Describe(o) }

// Describe names an object for messages and logs: its kind, namespace and name.
func Describe(o Object) string { return describe(o) }

// Unstructured returns an object in its canonical form, as apply sends it:
// the content of its canonical YAML. An explicit weight: 0 is part of it,
// so the field manager owns a dark version's weight.
func Unstructured(o Object) (*unstructured.Unstructured, error) {
	y, err := MarshalYAML(o)
	if err != nil {
		return nil, err
	}
	return canon.Unstructured(y)
}

// MarshalYAML returns one object as a canonical YAML document (without a
// "---" separator). apiVersion and kind must be set, or be known to SetKinds.
func MarshalYAML(o Object) ([]byte, error) {
	if err := SetKinds([]Object{o}); err != nil {
		return nil, err
	}
	w := canon.NewWriter(1024)
	if err := w.Document(o); err != nil {
		return nil, err
	}
	return w.Bytes(), nil
}

// YAML returns the objects as one canonical YAML stream: in the order of
// Sort, documents separated by "---", keys sorted, two-space indent. The
// same objects give the same bytes on every machine. Nothing is returned if
// any object fails.
func YAML(objs []Object) ([]byte, error) {
	sorted, err := Sorted(objs)
	if err != nil {
		return nil, err
	}
	// About 1 KiB a document is typical; growing from there is cheap.
	w := canon.NewWriter(1024 * len(sorted))
	for i, o := range sorted {
		if i > 0 {
			w.Separator()
		}
		if err := w.Document(o); err != nil {
			return nil, err
		}
	}
	return w.Bytes(), nil
}

// WriteYAML writes the canonical YAML stream of YAML to w. Everything is
// encoded before the first byte is written, so an invalid object leaves w
// untouched.
func WriteYAML(w io.Writer, objs []Object) error {
	b, err := YAML(objs)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// JSON returns the objects as a canonical JSON document: a v1 List whose
// items are in the order of Sort, keys sorted, two-space indent, the same
// content as YAML. kubectl apply -f takes it as is.
func JSON(objs []Object) ([]byte, error) {
	sorted, err := Sorted(objs)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	buf.WriteString(`{"apiVersion":"v1","items":[`)
	w := canon.NewWriter(1024)
	for i, o := range sorted {
		w.Reset()
		if err := w.Document(o); err != nil {
			return nil, err
		}
		j, err := yaml.YAMLToJSON(w.Bytes())
		if err != nil {
			return nil, fmt.Errorf("render: %s: %w", describe(o), err)
		}
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(j)
	}
	buf.WriteString(`],"kind":"List"}`)
	var out bytes.Buffer
	if err := json.Indent(&out, buf.Bytes(), "", "  "); err != nil {
		return nil, err
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}
