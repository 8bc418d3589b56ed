package render

import (
	"sort"

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
	keys := make([]order.Key, len(objs))
	for i, o := range objs {
		keys[i] = order.KeyOf(o)
	}
	idx := make([]int, len(objs))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return keys[idx[a]].Less(keys[idx[b]]) })
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
