package dynamicapply

import (
	"context"
	"sync"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
)

// NewForConfig returns a Client for the cluster of cfg: a dynamic client,
// a RESTMapper over cached discovery, the server's schemas (WithSchemas),
// and Lists of Kubernetes' own kinds (Deployments, Services, …) read as
// protobuf, which decodes faster than the JSON of the
// dynamic client, and which apply.Apply compares as the typed objects
// they decode to; the custom resources (Istio's, the Gateway API's) are
// listed as JSON. It is the fastest way to re-apply (BENCHMARKS.md). Its
// requests are those of apply.Apply, plus discovery and the schemas of
// each group-version applied, read once per Client: keep one for the life
// of a process. Raise cfg's QPS and Burst from client-go's 5 and 10 (see
// apply.Apply).
func NewForConfig(cfg *rest.Config) (*Client, error) {
	dc, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	disc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, err
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disc))
	a := New(dc, mapper).WithSchemas(disc.OpenAPIV3())
	a.typed = &typedLists{config: rest.CopyConfig(cfg), clients: map[schema.GroupVersion]rest.Interface{}}
	return a, nil
}

// typedLists lists the kinds client-go's scheme knows over protobuf.
type typedLists struct {
	config  *rest.Config
	mu      sync.Mutex
	clients map[schema.GroupVersion]rest.Interface
}

// knows reports whether gvk is one of Kubernetes' own kinds, with a list
// type in client-go's scheme.
func (t *typedLists) knows(gvk schema.GroupVersionKind) bool {
	return t != nil && scheme.Scheme.Recognizes(gvk.GroupVersion().WithKind(gvk.Kind+"List"))
}

func (t *typedLists) client(gv schema.GroupVersion) (rest.Interface, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if c, ok := t.clients[gv]; ok {
		return c, nil
	}
	cfg := rest.CopyConfig(t.config)
	cfg.GroupVersion = &gv
	cfg.APIPath = "/apis"
	if gv.Group == "" {
		cfg.APIPath = "/api"
	}
	cfg.ContentType = runtime.ContentTypeProtobuf
	cfg.AcceptContentTypes = runtime.ContentTypeProtobuf + "," + runtime.ContentTypeJSON
	cfg.NegotiatedSerializer = scheme.Codecs.WithoutConversion()
	c, err := rest.RESTClientFor(cfg)
	if err != nil {
		return nil, err
	}
	t.clients[gv] = c
	return c, nil
}

// list reads the objects of a built-in kind as typed objects over
// protobuf, with their kind set.
func (t *typedLists) list(ctx context.Context, m *meta.RESTMapping, namespace, selector string) ([]runtime.Object, error) {
	gvk := m.GroupVersionKind
	c, err := t.client(gvk.GroupVersion())
	if err != nil {
		return nil, err
	}
	list, err := scheme.Scheme.New(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
	if err != nil {
		return nil, err
	}
	req := c.Get().Resource(m.Resource.Resource).VersionedParams(&metav1.ListOptions{LabelSelector: selector}, scheme.ParameterCodec)
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		req = req.Namespace(namespace)
	}
	if err := req.Do(ctx).Into(list); err != nil {
		return nil, err
	}
	items, err := meta.ExtractList(list)
	if err != nil {
		return nil, err
	}
	for _, item := range items {
		item.GetObjectKind().SetGroupVersionKind(gvk)
	}
	return items, nil
}
