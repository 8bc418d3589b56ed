package apply

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/mlmesh/mlmesh/internal/order"
	"github.com/mlmesh/mlmesh/render"
)

// identity is what tells objects apart: group, kind, namespace and name.
func identity(o render.Object) string {
	gvk := o.GetObjectKind().GroupVersionKind()
	return gvk.Group + "/" + gvk.Kind + "/" + o.GetNamespace() + "/" + o.GetName()
}

// sameRank reports whether two objects' keys are of one rank of the apply
// order and one kind: objects that may be sent side by side.
func sameRank(x, y order.Key) bool {
	return x.Rank == y.Rank && x.Group == y.Group && x.Kind == y.Kind
}

// asUnstructured returns a listed object as an unstructured one.
func asUnstructured(obj runtime.Object) (*unstructured.Unstructured, error) {
	if u, ok := obj.(*unstructured.Unstructured); ok {
		return u, nil
	}
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, err
	}
	u := &unstructured.Unstructured{Object: m}
	u.SetGroupVersionKind(obj.GetObjectKind().GroupVersionKind())
	return u, nil
}
