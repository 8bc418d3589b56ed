package render

import (
	"sort"

	securityv1 "istio.io/client-go/pkg/apis/security/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/mlmesh/mlmesh/internal/order"
)

// Sort orders objects for apply and rendering: by kind in the frozen
// make-before-break order (Namespace, security policy, ServiceEntry,
// Service, Deployment, DestinationRule, Gateway, VirtualService, then other
// kinds by group and kind; an AuthorizationPolicy that denies after those
// that allow; a waypoint before Services), then by namespace, then by name. It is stable
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
	k := sortKey{rank: order.Rank(gvk.GroupKind()), namespace: o.GetNamespace(), name: o.GetName()}
	switch gvk.GroupKind() {
	case order.AuthorizationPolicy:
		k.rank = policyRank(o)
	case order.GatewayAPIGateway:
		k.rank = gatewayRank(o)
	}
	if k.rank == order.Unknown {
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

// gatewayRank is the rank of a Gateway API Gateway: a waypoint goes before
// the Services that use it (order.GatewayRank).
func gatewayRank(o Object) int {
	switch g := o.(type) {
	case *gatewayv1.Gateway:
		return order.GatewayRank(string(g.Spec.GatewayClassName))
	case *unstructured.Unstructured:
		class, _, _ := unstructured.NestedString(g.Object, "spec", "gatewayClassName")
		return order.GatewayRank(class)
	}
	return order.Rank(order.GatewayAPIGateway)
}

// policyRank is the rank of an AuthorizationPolicy: one that denies goes
// after those that allow (order.PolicyRank).
func policyRank(o Object) int {
	switch p := o.(type) {
	case *securityv1.AuthorizationPolicy:
		return order.PolicyRank(p.Spec.Action.String(), len(p.Spec.Rules))
	case *unstructured.Unstructured:
		action, _, _ := unstructured.NestedString(p.Object, "spec", "action")
		rules, _, _ := unstructured.NestedFieldNoCopy(p.Object, "spec", "rules")
		list, _ := rules.([]any)
		return order.PolicyRank(action, len(list))
	}
	return order.Rank(order.AuthorizationPolicy)
}
