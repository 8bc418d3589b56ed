package render

import (
	"sort"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

// kindOrder is the make-before-break order: nothing is referenced before it
// exists. It is the document order of every rendered stream and the apply
// order, and so part of every user's golden files.
//
// DO NOT CHANGE the order of the existing entries: doing so changes output
// bytes for every user. New kinds may only be added where they do not move
// an existing kind relative to another.
var kindOrder = map[schema.GroupKind]int{
	{Group: "", Kind: "Namespace"}: 10,
	// Mesh security policy, before any workload it protects is created.
	{Group: "security.istio.io", Kind: "PeerAuthentication"}:    20,
	{Group: "security.istio.io", Kind: "RequestAuthentication"}: 21,
	{Group: "security.istio.io", Kind: "AuthorizationPolicy"}:   22,
	{Group: "networking.istio.io", Kind: "ServiceEntry"}:        30,
	{Group: "", Kind: "ServiceAccount"}:                         35,
	{Group: "", Kind: "Service"}:                                40,
	{Group: "apps", Kind: "Deployment"}:                         50,
	{Group: "networking.istio.io", Kind: "DestinationRule"}:     60,
	{Group: "networking.istio.io", Kind: "Gateway"}:             70,
	{Group: "networking.istio.io", Kind: "VirtualService"}:      80,
}

// unknownRank places kinds not in kindOrder after all known ones, ordered
// among themselves by group and kind.
const unknownRank = 1000

// Rank returns the position of a kind in the apply order; a lower rank is
// applied first and rendered first. Kinds mlmesh does not know rank last.
func Rank(gk schema.GroupKind) int {
	if r, ok := kindOrder[gk]; ok {
		return r
	}
	return unknownRank
}

// Sort orders objects for apply and rendering: by kind in the frozen
// make-before-break order (Namespace, security policy, ServiceEntry,
// Service, Deployment, DestinationRule, Gateway, VirtualService, then other
// kinds by group and kind), then by namespace, then by name. It is stable
// and sorts in place. Objects without a kind must have one set first (see
// SetKinds).
func Sort(objs []Object) {
	keys := make([]sortKey, len(objs))
	for i, o := range objs {
		keys[i] = keyOf(o)
	}
	idx := make([]int, len(objs))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return keys[idx[a]].less(keys[idx[b]]) })
	sorted := make([]Object, len(objs))
	for i, j := range idx {
		sorted[i] = objs[j]
	}
	copy(objs, sorted)
}

// RemovalOrder is the reverse of Sort's order: routes first, then subsets,
// then workloads, so that nothing is removed while it is still referenced.
func RemovalOrder(objs []Object) {
	Sort(objs)
	for i, j := 0, len(objs)-1; i < j; i, j = i+1, j-1 {
		objs[i], objs[j] = objs[j], objs[i]
	}
}

type sortKey struct {
	rank      int
	group     string
	kind      string
	namespace string
	name      string
}

func keyOf(o Object) sortKey {
	gvk := o.GetObjectKind().GroupVersionKind()
	k := sortKey{rank: Rank(gvk.GroupKind()), namespace: o.GetNamespace(), name: o.GetName()}
	if k.rank == unknownRank {
		k.group, k.kind = gvk.Group, gvk.Kind
	}
	return k
}

func (a sortKey) less(b sortKey) bool {
	switch {
	case a.rank != b.rank:
		return a.rank < b.rank
	case a.group != b.group:
		return a.group < b.group
	case a.kind != b.kind:
		return a.kind < b.kind
	case a.namespace != b.namespace:
		return a.namespace < b.namespace
	}
	return a.name < b.name
}
