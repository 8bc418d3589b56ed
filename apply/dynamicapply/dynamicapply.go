// Package dynamicapply adapts client-go's dynamic client to apply.Client,
// so that apply.Apply and apply.Transition can use a client a Go service
// already has:
//
//	c, err := dynamicapply.NewForConfig(restConfig)
//	res, err := apply.Apply(ctx, c, objs, apply.Options{})
//
// NewForConfig sets up everything: the dynamic client, a RESTMapper, the
// server's schemas (with which apply.Apply sends nothing for objects the
// field manager already applied as wanted) and protobuf Lists of
// Kubernetes' own kinds, compared typed. New takes a dynamic client and
// mapper a service has already, and WithSchemas adds the schemas; its
// Lists are all JSON, which decode more slowly.
//
// It lives in its own package so that users who only render do not compile
// client-go. apply.Apply sends one apply per object that is not already as
// wanted and one List per kind and namespace; client-go's default
// client-side limit (rest.Config QPS 5, Burst 10) makes a large App slow:
// raise them on the config the dynamic client is made from.
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

	"github.com/mlmesh/mlmesh/apply"
	"github.com/mlmesh/mlmesh/internal/typeconv"
)

// Client applies through a dynamic client, mapping kinds to resources with
// a RESTMapper.
type Client struct {
	client dynamic.Interface
	mapper meta.RESTMapper
	types  *typeconv.Cache
	typed  *typedLists // set by NewForConfig
}

var _ apply.Client = (*Client)(nil)

// New returns a Client using client and mapper (for instance
// restmapper.NewDeferredDiscoveryRESTMapper over a cached discovery client).
func New(client dynamic.Interface, mapper meta.RESTMapper) *Client {
	return &Client{client: client, mapper: mapper}
}

// WithSchemas lets apply.Apply read the API server's schemas through
// openAPI (a discovery client's OpenAPIV3()), so that it sends nothing for
// objects already as wanted; it returns a. The schemas of each
// group-version are read once, when first needed.
func (a *Client) WithSchemas(openAPI openapi.Client) *Client {
	a.types = typeconv.New(openAPI)
	return a
}

// TypeConverter implements apply.Schemas; without WithSchemas it answers
// apply.ErrNoSchemas, and apply.Apply then sends every object.
func (a *Client) TypeConverter(ctx context.Context, gvs []schema.GroupVersion) (managedfields.TypeConverter, error) {
	return a.types.TypeConverter(ctx, gvs)
}

// SchemaDigest implements apply.SchemaDigester: a digest of the API
// server's current OpenAPI v3 document hashes of gvs (one request), by
// which an apply.Cache keeps verdicts across processes. Without
// WithSchemas it answers apply.ErrNoSchemas.
func (a *Client) SchemaDigest(ctx context.Context, gvs []schema.GroupVersion) (string, error) {
	return a.types.SchemaDigest(ctx, gvs)
}

func (a *Client) mapping(gvk schema.GroupVersionKind) (*meta.RESTMapping, error) {
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

func (a *Client) resource(gvk schema.GroupVersionKind, namespace string) (dynamic.ResourceInterface, error) {
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
func (a *Client) Apply(ctx context.Context, obj *unstructured.Unstructured, opts apply.PatchOptions) (*unstructured.Unstructured, error) {
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
func (a *Client) Get(ctx context.Context, gvk schema.GroupVersionKind, namespace, name string) (*unstructured.Unstructured, error) {
	ri, err := a.resource(gvk, namespace)
	if err != nil {
		return nil, err
	}
	return ri.Get(ctx, name, metav1.GetOptions{})
}

// Delete deletes an object, letting the garbage collector remove what it
// owns. An object that does not exist is not an error.
func (a *Client) Delete(ctx context.Context, gvk schema.GroupVersionKind, namespace, name string, opts apply.DeleteOptions) error {
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

// List lists the objects of a kind in namespace that carry the labels:
// Kubernetes' own kinds as typed objects when the Client came from
// NewForConfig (see apply.Reader), everything else as unstructured ones.
func (a *Client) List(ctx context.Context, gvk schema.GroupVersionKind, namespace string, match map[string]string) ([]runtime.Object, error) {
	items, ok, err := a.listTyped(ctx, gvk, namespace, match)
	if err != nil || ok {
		return items, err
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
	out := make([]runtime.Object, len(list.Items))
	for i := range list.Items {
		out[i] = &list.Items[i]
	}
	return out, nil
}

// listTyped lists Kubernetes' own kinds as typed objects over protobuf,
// when the Client came from NewForConfig; apply compares them as they
// are. For other kinds, or a Client from New, it answers ok false.
func (a *Client) listTyped(ctx context.Context, gvk schema.GroupVersionKind, namespace string, match map[string]string) ([]runtime.Object, bool, error) {
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
