package mesh

import (
	"cmp"
	"math/rand"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestSortItems holds sortItems to a plain sort by rank, namespace, name
// and seq, on names that share long prefixes, are prefixes of each other,
// differ past the 8 bytes of the key, and hold zero bytes; a fifth of the
// rounds have enough items to be radix-sorted, some with ranks that
// differ in both their bytes.
func TestSortItems(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	parts := []string{"model", "-", "1", "12", "v1", "v2", "a", "\x00", "model-store-s3", "models-gateway", "-long-suffix-past-the-key"}
	for round := 0; round < 300; round++ {
		var items []item
		prefix := parts[r.Intn(len(parts))]
		n, ranks := 1+r.Intn(60), 3
		if round%5 == 0 {
			n = radixMin + r.Intn(3000)
			if round%10 == 0 {
				ranks = 1 << 16
			}
		}
		for i := 0; i < n; i++ {
			name := prefix
			for j := 0; j < r.Intn(5); j++ {
				name += parts[r.Intn(len(parts))]
			}
			if n >= radixMin && r.Intn(2) == 0 {
				name += strconv.Itoa(r.Intn(5000)) + parts[r.Intn(len(parts))] // a fleet's model-123-v1
			}
			items = append(items, item{namespace: []string{"models", "other"}[r.Intn(2)], name: name,
				seq: int32(i), rank: uint16(r.Intn(ranks))})
		}
		want := slices.Clone(items)
		slices.SortFunc(want, func(x, y item) int {
			return cmp.Or(cmp.Compare(x.rank, y.rank), strings.Compare(x.namespace, y.namespace),
				strings.Compare(x.name, y.name), cmp.Compare(x.seq, y.seq))
		})
		sortItems(items)
		for i := range items {
			if items[i].name != want[i].name || items[i].seq != want[i].seq {
				t.Fatalf("round %d: item %d is %q (seq %d), want %q (seq %d)", round, i, items[i].name, items[i].seq, want[i].name, want[i].seq)
			}
		}
	}
}
