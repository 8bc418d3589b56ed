package render

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"reflect"

	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	securityv1 "istio.io/client-go/pkg/apis/security/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"
)

// Object is what render takes: a Kubernetes object with metadata, as every
// typed Kubernetes and Istio API object is (and controller-runtime's
// client.Object).
type Object interface {
	metav1.Object
	runtime.Object
}

// scheme knows the kinds of the types mlmesh builds, to fill in apiVersion
// and kind when an object was made without them.
var scheme = func() *runtime.Scheme {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme, appsv1.AddToScheme, autoscalingv2.AddToScheme, policyv1.AddToScheme,
		networkingv1.AddToScheme, securityv1.AddToScheme,
	} {
		if err := add(s); err != nil {
			panic(err) // static registration; cannot fail for these packages
		}
	}
	return s
}()

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
		kinds, _, err := scheme.ObjectKinds(o)
		if err != nil || len(kinds) == 0 {
			return fmt.Errorf("render: object %d (%T %q): apiVersion and kind are not set and the type is not one render knows; set TypeMeta", i, o, o.GetName())
		}
		o.GetObjectKind().SetGroupVersionKind(kinds[0])
	}
	return nil
}

// prepare checks objects and returns them in canonical order, without
// changing the caller's slice order.
func prepare(objs []Object) ([]Object, error) {
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
func describe(o Object) string {
	kind := o.GetObjectKind().GroupVersionKind().Kind
	if o.GetNamespace() == "" {
		return kind + " " + o.GetName()
	}
	return kind + " " + o.GetNamespace() + "/" + o.GetName()
}

// Describe names an object for messages and logs: its kind, namespace and name.
func Describe(o Object) string { return describe(o) }

// MarshalYAML returns one object as a canonical YAML document (without a
// "---" separator). apiVersion and kind must be set, or be known to SetKinds.
func MarshalYAML(o Object) ([]byte, error) {
	if err := SetKinds([]Object{o}); err != nil {
		return nil, err
	}
	var e encoder
	if err := e.object(o); err != nil {
		return nil, err
	}
	return e.buf, nil
}

func (e *encoder) object(o Object) error {
	v := reflect.ValueOf(o)
	mark := len(e.buf)
	var ok bool
	var err error
	switch u, isU := o.(*unstructured.Unstructured); {
	case isU:
		ok, err = e.generic(manifestOf(u.Object), 0, true)
	case v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct:
		return fmt.Errorf("render: %s: a %T is not a pointer to a struct", describe(o), o)
	case e.reflective:
		ok, err = e.structValue(v.Elem(), 0, true, modeObject)
	default:
		ok, err = objectCodec(v.Type()).fn(e, v.UnsafePointer(), 0, true)
	}
	if err != nil {
		e.buf = e.buf[:mark]
		return fmt.Errorf("render: %s: %w", describe(o), err)
	}
	if !ok {
		e.buf = e.buf[:mark]
		return fmt.Errorf("render: %s: nothing to render", describe(o))
	}
	// structValue writes "\n" + entries; a document starts at column 0.
	e.buf = append(e.buf[:mark], e.buf[mark+1:]...)
	e.buf = append(e.buf, '\n')
	return nil
}

// manifestOf returns an unstructured object's content without its status
// and server-populated metadata, as structValue leaves them out of typed
// objects.
func manifestOf(obj map[string]any) map[string]any {
	out := make(map[string]any, len(obj))
	for k, v := range obj {
		if k == "status" {
			continue
		}
		if md, ok := v.(map[string]any); ok && k == "metadata" {
			m := make(map[string]any, len(md))
			for mk, mv := range md {
				if !serverMetadata[mk] {
					m[mk] = mv
				}
			}
			v = m
		}
		out[k] = v
	}
	return out
}

// YAML returns the objects as one canonical YAML stream: in the order of
// Sort, documents separated by "---", keys sorted, two-space indent. The
// same objects give the same bytes on every machine. Nothing is returned if
// any object fails.
func YAML(objs []Object) ([]byte, error) {
	sorted, err := prepare(objs)
	if err != nil {
		return nil, err
	}
	// About 1 KiB a document is typical; growing from there is cheap.
	e := encoder{buf: make([]byte, 0, 1024*len(sorted))}
	for i, o := range sorted {
		if i > 0 {
			e.buf = append(e.buf, "---\n"...)
		}
		if err := e.object(o); err != nil {
			return nil, err
		}
	}
	return e.buf, nil
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
	sorted, err := prepare(objs)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	buf.WriteString(`{"apiVersion":"v1","items":[`)
	for i, o := range sorted {
		var e encoder
		if err := e.object(o); err != nil {
			return nil, err
		}
		j, err := yaml.YAMLToJSON(e.buf)
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
