package apply

import (
	"crypto/sha256"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/managedfields"
)

// Cache remembers, from one Apply or Transition to the next, which live
// objects were found to hold, owned by the field manager, exactly what was
// wanted, so that an object neither side changed since is not compared
// again. A live object is known by its UID and resourceVersion, which the
// API server changes on every write to it (another manager's too), and a
// wanted object by a hash of its canonical form: a remembered verdict holds
// exactly as long as neither changed, and anything else is compared afresh
// as without a Cache. The objects are still listed each time, so a deleted
// or changed object is seen.
//
// Keep one for the life of a controller, a rollout or any caller that
// applies the same objects again and again (see Options.Cache): a
// re-apply then costs its Lists alone. It holds one small entry per object
// applied, is safe for concurrent use, and its zero value
// is ready to use.
type Cache struct {
	mu sync.Mutex
	m  map[string]verdict
}

// verdict is what was known of one object: applying the wanted object
// with this hash, as this manager, to the live object at this UID and
// resourceVersion, read through this type converter, changes nothing.
type verdict struct {
	uid             types.UID
	resourceVersion string
	manager         string
	want            [sha256.Size]byte
	types           managedfields.TypeConverter
}

// Len returns how many objects the cache knows.
func (c *Cache) Len() int {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}

// holds reports whether the cache knows live to be as wanted.
func (c *Cache) holds(id string, live metav1.Object, v verdict) bool {
	if c == nil || live == nil {
		return false
	}
	v.uid, v.resourceVersion = live.GetUID(), live.GetResourceVersion()
	c.mu.Lock()
	defer c.mu.Unlock()
	got, ok := c.m[id]
	return ok && got == v && v.resourceVersion != ""
}

// remember records that live is as wanted.
func (c *Cache) remember(id string, live metav1.Object, v verdict) {
	if c == nil || live == nil || live.GetResourceVersion() == "" {
		return
	}
	v.uid, v.resourceVersion = live.GetUID(), live.GetResourceVersion()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]verdict{}
	}
	c.m[id] = v
}

// forget drops what is known of an object (it was deleted, or found to
// differ).
func (c *Cache) forget(id string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, id)
}
