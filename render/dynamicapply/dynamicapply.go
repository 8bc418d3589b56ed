// Package dynamicapply adapts client-go's dynamic client to render.Applier
// (with render.Getter, render.Deleter and render.Lister), so that
// render.Apply and render.Transition can use a client a Go service already
// has:
//
//	a, err := dynamicapply.NewForConfig(restConfig)
//	res, err := render.Apply(ctx, a, objs, render.ApplyOptions{})
//
// NewForConfig sets up everything: the dynamic client, a RESTMapper, the
// server's schemas (with which render.Apply sends nothing for objects the
// field manager already applied as wanted) and protobuf Lists of
// Kubernetes' own kinds, compared typed. New takes a dynamic client and
// mapper a service has already, and WithSchemas adds the schemas; its
// Lists are all JSON, which costs about twice as much to re-apply.
//
// It lives in its own package so that users who only render do not compile
// client-go. render.Apply sends one apply per object that is not already as
// wanted and one List per kind and namespace; client-go's default
// client-side limit (rest.Config QPS 5,
// Burst 10) makes a large App slow: raise them on the config the dynamic
// client is made from.
package dynamicapply

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/openapi"

	"github.com/mlmesh/mlmesh/internal/adapter"
	"github.com/mlmesh/mlmesh/internal/typeconv"
	"github.com/mlmesh/mlmesh/render"
)

// Applier applies through a dynamic client, mapping kinds to resources with
// a RESTMapper.
type Applier struct {
	client dynamic.Interface
	mapper meta.RESTMapper
	types  *typeconv.Cache
	typed  *typedLists // set by NewForConfig
}

var (
	_ render.Applier = (*Applier)(nil)
	_ render.Getter  = (*Applier)(nil)
	_ render.Deleter = (*Applier)(nil)
	_ render.Lister  = (*Applier)(nil)
	_ render.Schemas = (*Applier)(nil)

	_ adapter.TypedLister = (*Applier)(nil)
)

// New returns an Applier using client and mapper (for instance
// restmapper.NewDeferredDiscoveryRESTMapper over a cached discovery client).
func New(client dynamic.Interface, mapper meta.RESTMapper) *Applier {
	return &Applier{client: client, mapper: mapper}
}

// WithSchemas lets render.Apply read the API server's schemas through
// openAPI (a discovery client's OpenAPIV3()), so that it sends nothing for
// objects already as wanted; it returns a. The schemas of each
// group-version are read once, when first needed.
func (a *Applier) WithSchemas(openAPI openapi.Client) *Applier {
	a.types = typeconv.New(openAPI)
	return a
}

// TypeConverter implements render.Schemas; without WithSchemas it fails,
// and render.Apply then sends every object.
func (a *Applier) TypeConverter(ctx context.Context, gvs []schema.GroupVersion) (managedfields.TypeConverter, error) {
	return a.types.TypeConverter(ctx, gvs)
}

func (a *Applier) mapping(gvk schema.GroupVersionKind) (*meta.RESTMapping, error) {
	m, err := a.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		if r, ok := a.mapper.(meta.ResettableRESTMapper); ok {
			// The kind may have appeared since discovery was cached (a CRD).
			r.Reset()
			m, err = a.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		}
		if err != nil {
			return nil, fmt.Errorf("no resource for %s: %w", gvk, err)
		}
	}
	return m, nil
}

func (a *Applier) resource(gvk schema.GroupVersionKind, namespace string) (dynamic.ResourceInterface, error) {
	m, err := a.mapping(gvk)
	if err != nil {
		return nil, err
	}
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		return a.client.Resource(m.Resource).Namespace(namespace), nil
	}
	return a.client.Resource(m.Resource), nil
}

// Apply server-side applies obj.
func (a *Applier) Apply(ctx context.Context, obj *unstructured.Unstructured, opts render.ApplyOptions) (*unstructured.Unstructured, error) {
	ri, err := a.resource(obj.GroupVersionKind(), obj.GetNamespace())
	if err != nil {
		return nil, err
	}
	data, err := obj.MarshalJSON()
	if err != nil {
		return nil, err
	}
	po := metav1.PatchOptions{FieldManager: opts.FieldManager, FieldValidation: "Strict"}
	if opts.Force {
		force := true
		po.Force = &force
	}
	if opts.DryRun {
		po.DryRun = []string{metav1.DryRunAll}
	}
	return ri.Patch(ctx, obj.GetName(), types.ApplyPatchType, data, po)
}

// Get reads an object.
func (a *Applier) Get(ctx context.Context, gvk schema.GroupVersionKind, namespace, name string) (*unstructured.Unstructured, error) {
	ri, err := a.resource(gvk, namespace)
	if err != nil {
		return nil, err
	}
	return ri.Get(ctx, name, metav1.GetOptions{})
}

// Delete deletes an object, letting the garbage collector remove what it
// owns. An object that does not exist is not an error.
func (a *Applier) Delete(ctx context.Context, gvk schema.GroupVersionKind, namespace, name string, opts render.ApplyOptions) error {
	ri, err := a.resource(gvk, namespace)
	if err != nil {
		return err
	}
	policy := metav1.DeletePropagationBackground
	do := metav1.DeleteOptions{PropagationPolicy: &policy}
	if opts.DryRun {
		do.DryRun = []string{metav1.DryRunAll}
	}
	if err := ri.Delete(ctx, name, do); err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	return nil
}

// List lists the objects of a kind in namespace that carry the labels.
func (a *Applier) List(ctx context.Context, gvk schema.GroupVersionKind, namespace string, match map[string]string) ([]*unstructured.Unstructured, error) {
	items, ok, err := a.ListTyped(ctx, gvk, namespace, match)
	if err != nil {
		return nil, err
	}
	if ok {
		return unstructuredList(gvk, items)
	}
	selector := labels.SelectorFromSet(match).String()
	ri, err := a.resource(gvk, namespace)
	if err != nil {
		return nil, err
	}
	list, err := ri.List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, err
	}
	out := make([]*unstructured.Unstructured, len(list.Items))
	for i := range list.Items {
		out[i] = &list.Items[i]
	}
	return out, nil
}

// ListTyped lists Kubernetes' own kinds as typed objects over protobuf,
// when the Applier came from NewForConfig; render compares them as they
// are. For other kinds, or an Applier from New, it answers ok false.
func (a *Applier) ListTyped(ctx context.Context, gvk schema.GroupVersionKind, namespace string, match map[string]string) ([]runtime.Object, bool, error) {
	if !a.typed.knows(gvk) {
		return nil, false, nil
	}
	m, err := a.mapping(gvk)
	if err != nil {
		return nil, true, err
	}
	items, err := a.typed.list(ctx, m, namespace, labels.SelectorFromSet(match).String())
	return items, true, err
}
