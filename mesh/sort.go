package mesh

import (
	"cmp"
	"maps"
	"slices"
	"strings"
)

// Sorting an App's objects into apply order: the one part of rendering
// that is not linear in the App's size.

// sortItems sorts items by rank, namespace, name and seq. seq breaks ties
// (two objects of one name, reported by uniqueObjects), so the faster
// unstable sort gives a stable sort's order.
//
// It sorts small keys rather than the items: the rank, the namespace's
// place among the App's namespaces and the first 12 bytes of the name
// after the prefix all names share ("model-"), as two integers; only names
// equal that far are compared whole. Then it moves each item to its place.
func sortItems(items []item) {
	if len(items) < 2 {
		return
	}
	shared := items[0].name
	for i := range items {
		n := items[i].name
		l := 0
		for l < len(shared) && l < len(n) && shared[l] == n[l] {
			l++
		}
		shared = shared[:l]
	}
	namespaces := namespaceOrder(items)
	if namespaces == nil {
		slices.SortFunc(items, func(x, y item) int { return compareItems(&x, &y) })
		return
	}
	keys := make([]itemKey, len(items))
	last, lastAt := "", uint64(0)
	for i := range items {
		it := &items[i]
		if it.namespace != last || i == 0 {
			last, lastAt = it.namespace, namespaces[it.namespace]
		}
		rest := it.name[len(shared):]
		keys[i] = itemKey{
			hi: uint64(it.rank)<<48 | lastAt<<32 | nameKey(rest)>>32,
			lo: nameKey(rest[min(4, len(rest)):]),
			at: int32(i),
		}
	}
	slices.SortFunc(keys, func(a, b itemKey) int {
		if a.hi != b.hi {
			return cmp.Compare(a.hi, b.hi)
		}
		if a.lo != b.lo {
			return cmp.Compare(a.lo, b.lo)
		}
		return compareItems(&items[a.at], &items[b.at])
	})
	// Move items[keys[k].at] to k, a cycle of the permutation at a time.
	for k := range keys {
		if keys[k].at < 0 {
			continue
		}
		held, j := items[k], k
		for {
			from := int(keys[j].at)
			keys[j].at = -1
			if from == k {
				items[j] = held
				break
			}
			items[j], j = items[from], from
		}
	}
}

// itemKey is an item's sort key: hi and lo compared as integers first.
type itemKey struct {
	hi, lo uint64
	at     int32 // the item's index
}

// namespaceOrder numbers the items' namespaces in their sorted order, or
// returns nil when there are more than the 16 bits of itemKey.hi hold.
func namespaceOrder(items []item) map[string]uint64 {
	order := map[string]uint64{}
	last := ""
	for i := range items {
		if ns := items[i].namespace; ns != last || i == 0 {
			order[ns], last = 0, ns
		}
	}
	if len(order) > 1<<16 {
		return nil
	}
	names := slices.Sorted(maps.Keys(order))
	for i, ns := range names {
		order[ns] = uint64(i)
	}
	return order
}

// compareItems orders items by rank, namespace, name and seq.
func compareItems(x, y *item) int {
	if x.rank != y.rank {
		return cmp.Compare(x.rank, y.rank)
	}
	if c := strings.Compare(x.namespace, y.namespace); c != 0 {
		return c
	}
	if c := strings.Compare(x.name, y.name); c != 0 {
		return c
	}
	return cmp.Compare(x.seq, y.seq)
}

// nameKey is the first 8 bytes of s as a big-endian integer, zeros after
// a shorter s: of two strings, the one with the smaller key sorts first,
// and equal keys leave the order to the strings.
func nameKey(s string) uint64 {
	var k uint64
	for i := 0; i < 8; i++ {
		k <<= 8
		if i < len(s) {
			k |= uint64(s[i])
		}
	}
	return k
}
