// Package adapter holds what render asks of its apply adapters
// (render/dynamicapply, render/crapply) beyond render's public interfaces:
// capabilities that make comparing live objects with wanted ones cheaper
// or more exact, which a caller's own Applier need not have.
package adapter

import (
	"context"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// TypedLister is an optional capability of a render.Lister: Kubernetes'
// own kinds listed as typed objects. Decoded from protobuf into
// client-go's types, they are compared with what is wanted as they are,
// which costs less than converting them to unstructured maps first (for
// 2,000 Deployments, the conversion alone took longer than the
// comparison).
type TypedLister interface {
	// ListTyped lists the objects of a kind in namespace that carry the
	// labels, as render.Lister's List does, as typed objects of
	// client-go's scheme with their kind set. It returns ok false, and
	// nothing else, for a kind it does not list as typed objects.
	ListTyped(ctx context.Context, gvk schema.GroupVersionKind, namespace string, labels map[string]string) (objs []runtime.Object, ok bool, err error)
}

// Defaulter is an optional capability of the TypeConverter that a
// render.Schemas returns: the defaults of custom resources' schemas.
type Defaulter interface {
	// Defaulted returns obj with the defaults its kind's schema declares
	// set where obj has no value, as the API server sets them on a custom
	// resource; obj itself when its kind declares none. It never changes
	// obj.
	Defaulted(obj *unstructured.Unstructured) *unstructured.Unstructured
}
