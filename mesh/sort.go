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
	keys = sortKeys(keys, items)
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

// radixMin is the fewest keys sortKeys radix-sorts: below it, the 4,096
// counters a radix sort begins with cost more than comparing.
const radixMin = 256

// sortKeys sorts keys by hi, lo and, where both are equal, by the items
// themselves (compareItems). Many keys (an App of thousands of objects)
// are radix-sorted: a stable pass per byte of lo then hi, least
// significant first, skipping the bytes that every key has alike (the
// rank, the namespace, much of the names); the runs of equal keys it
// leaves, in the items' order, are then sorted by the items.
func sortKeys(keys []itemKey, items []item) []itemKey {
	byItems := func(a, b itemKey) int {
		if a.hi != b.hi {
			return cmp.Compare(a.hi, b.hi)
		}
		if a.lo != b.lo {
			return cmp.Compare(a.lo, b.lo)
		}
		return compareItems(&items[a.at], &items[b.at])
	}
	if len(keys) < radixMin {
		slices.SortFunc(keys, byItems)
		return keys
	}
	var counts [16][256]int32 // of byte b of lo (b < 8), of hi (b >= 8)
	for _, k := range keys {
		for b := range 8 {
			counts[b][byte(k.lo>>(8*b))]++
			counts[8+b][byte(k.hi>>(8*b))]++
		}
	}
	buf := make([]itemKey, len(keys))
	for b := range counts {
		c := &counts[b]
		if int(c[keyByte(&keys[0], b)]) == len(keys) {
			continue // every key has this byte alike
		}
		var sum int32
		for v := range c {
			c[v], sum = sum, sum+c[v]
		}
		for i := range keys {
			v := keyByte(&keys[i], b)
			buf[c[v]] = keys[i]
			c[v]++
		}
		keys, buf = buf, keys
	}
	for i := 0; i < len(keys); {
		j := i + 1
		for j < len(keys) && keys[j].hi == keys[i].hi && keys[j].lo == keys[i].lo {
			j++
		}
		if j-i > 1 {
			slices.SortFunc(keys[i:j], byItems)
		}
		i = j
	}
	return keys
}

// keyByte is byte b of k's lo (b < 8) or of its hi (b >= 8).
func keyByte(k *itemKey, b int) byte {
	if b < 8 {
		return byte(k.lo >> (8 * b))
	}
	return byte(k.hi >> (8 * (b - 8)))
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
