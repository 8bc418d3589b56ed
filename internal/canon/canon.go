// Package canon writes Kubernetes and Istio objects in mlmesh's canonical
// YAML: keys sorted, two-space indent, no status, no metadata the API
// server fills in, no empty maps or lists, and the exceptions of
// exceptions.go (weights, always-written fields). render is its only user;
// its output is part of mlmesh's compatibility promise (VERSIONING.md).
//
// Each type is compiled on first use into a codec (codec.go for Go structs,
// protocodec.go for Istio's protobuf messages); what no codec covers
// (interfaces, marshalers, unstructured content) takes the reflection walk
// (encode.go, proto.go), which the tests also hold the codecs to. The walk
// is product code, not only the codecs' oracle: every unstructured object
// goes through it (what package apply sends, reads back and diffs, and any
// unstructured object a caller renders).
package canon

import (
	"fmt"
	"reflect"

	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	networkingv1alpha3 "istio.io/client-go/pkg/apis/networking/v1alpha3"
	securityv1 "istio.io/client-go/pkg/apis/security/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
)

// Object is what canon writes: a Kubernetes object with metadata, its
// apiVersion and kind set.
type Object interface {
	metav1.Object
	runtime.Object
}

// Scheme knows the Kubernetes and Istio types mlmesh builds: render fills
// in apiVersion and kind from it, and the tests fill every type of it at
// random.
var Scheme = func() *runtime.Scheme {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme, appsv1.AddToScheme, autoscalingv2.AddToScheme, policyv1.AddToScheme,
		networkingv1.AddToScheme, securityv1.AddToScheme,
	} {
		if err := add(s); err != nil {
			panic(err) // static registration; cannot fail for these packages
		}
	}
	// Of Istio's v1alpha3 kinds, only the EnvoyFilter (no newer version).
	s.AddKnownTypes(networkingv1alpha3.SchemeGroupVersion, &networkingv1alpha3.EnvoyFilter{}, &networkingv1alpha3.EnvoyFilterList{})
	return s
}()

// Writer appends canonical YAML documents to a buffer, keeping its scratch
// space between documents.
type Writer struct {
	e encoder
}

// NewWriter returns a Writer whose buffer starts with room for n bytes.
func NewWriter(n int) *Writer { return &Writer{e: encoder{buf: make([]byte, 0, n)}} }

// Document appends o as one document (without a "---" separator). If o
// fails, nothing is appended and the error names it.
func (w *Writer) Document(o Object) error { return w.e.object(o) }

// Separator appends the "---" line between two documents.
func (w *Writer) Separator() { w.e.buf = append(w.e.buf, "---\n"...) }

// Bytes returns what was written; the Writer owns it until Reset.
func (w *Writer) Bytes() []byte { return w.e.buf }

// Reset empties the buffer, keeping its storage.
func (w *Writer) Reset() { w.e.buf = w.e.buf[:0] }

// Describe names an object for messages: "VirtualService ns/name".
func Describe(o Object) string {
	kind := o.GetObjectKind().GroupVersionKind().Kind
	if o.GetNamespace() == "" {
		return kind + " " + o.GetName()
	}
	return kind + " " + o.GetNamespace() + "/" + o.GetName()
}

func (e *encoder) object(o Object) error {
	v := reflect.ValueOf(o)
	mark := len(e.buf)
	e.top = true
	defer func() { e.top = false }()
	var ok bool
	var err error
	switch u, isU := o.(*unstructured.Unstructured); {
	case isU:
		ok, err = e.generic(manifestOf(u.Object), 0, true)
	case v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct:
		return fmt.Errorf("render: %s: a %T is not a pointer to a struct", Describe(o), o)
	case e.reflective:
		ok, err = e.structValue(v.Elem(), 0, true, modeObject)
	default:
		ok, err = objectCodec(v.Type()).fn(e, v.UnsafePointer(), 0, true)
	}
	if err != nil {
		e.buf = e.buf[:mark]
		return fmt.Errorf("render: %s: %w", Describe(o), err)
	}
	if !ok {
		e.buf = e.buf[:mark]
		return fmt.Errorf("render: %s: nothing to render", Describe(o))
	}
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
