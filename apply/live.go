package apply

import (
	"context"
	"reflect"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// liveObjects is what Apply and Transition know of the live objects, to
// tell created, configured and unchanged apart. It reads each kind in each
// namespace that the steps apply with one List, all of them side by side
// from the start (a kind's objects change only through its own steps, which
// keep what was read current, and a step waits only for its own kind's
// List), so N objects of K kinds and namespaces cost N applies and K Lists.
// When a kind's List fails (a role that may get but not list, say) it Gets
// each object of that kind (2N requests). It is safe for concurrent use by
// the workers of one rank.
type liveObjects struct {
	reader Reader

	mu      sync.Mutex
	listed  map[listKey]bool          // read by List; absent: not yet, false: List failed
	pending map[listKey]chan struct{} // closed when a prefetched List is done
	lists   sync.WaitGroup
	byID    map[listKey]map[string]liveObject
	// types, when set, tells whether a listed object is already as wanted
	// (upToDate); nil sends every object. Set before the workers start,
	// or, when digest is, by the first worker that needs it (typesOnce).
	types     *converter
	cacheable bool
	// digest names the server's schemas of the steps' group-versions
	// (Schemas.SchemaDigest); "" when the Client cannot name them.
	digest    string
	typesOnce sync.Once
	loadTypes func() *converter
}

// schemas asks the Client for the types of the objects the steps apply, so
// that objects already as wanted need not be sent. When the schemas cannot
// be read, every object is sent.
func (lo *liveObjects) schemas(ctx context.Context, s Schemas, steps []Action, cached bool) {
	seen := map[schema.GroupVersion]bool{}
	var gvs []schema.GroupVersion
	for _, st := range steps {
		if gv := st.Object.GetObjectKind().GroupVersionKind().GroupVersion(); st.Op == OpApply && !seen[gv] {
			seen[gv] = true
			gvs = append(gvs, gv)
		}
	}
	if len(gvs) == 0 {
		return
	}
	load := func() *converter {
		if tc, err := s.TypeConverter(ctx, gvs); err == nil {
			return newConverter(tc)
		}
		return nil
	}
	// With a Cache and schemas the server names, verdicts are keyed by
	// their digest, and the schemas are read only if an object must be
	// compared: an unchanged App's verdicts all hold.
	if cached {
		if d, err := s.SchemaDigest(ctx, gvs); err == nil && d != "" {
			lo.digest, lo.cacheable, lo.loadTypes = d, true, load
			return
		}
	}
	lo.typesOnce.Do(func() {})
	if lo.types = load(); lo.types != nil {
		// A Cache keys verdicts by the converter, which must compare.
		lo.cacheable = reflect.TypeOf(lo.types.TypeConverter).Comparable()
	}
}

// converter returns the converter of the steps' types, reading the schemas
// the first time when they were left for later (digest); nil when they
// cannot be read.
func (lo *liveObjects) converter() *converter {
	lo.typesOnce.Do(func() {
		if lo.loadTypes != nil {
			lo.types = lo.loadTypes()
		}
	})
	return lo.types
}

// canCompare reports whether objects can be found as wanted without
// sending them: by the schemas, or by verdicts keyed by their digest.
func (lo *liveObjects) canCompare() bool { return lo.digest != "" || lo.types != nil }

type listKey struct {
	gk        schema.GroupKind
	namespace string
}

func newLiveObjects(r Reader) *liveObjects {
	return &liveObjects{reader: r, listed: map[listKey]bool{}, pending: map[listKey]chan struct{}{}, byID: map[listKey]map[string]liveObject{}}
}

// prefetch starts listing, with up to workers Lists at once, every kind
// and namespace that the steps apply, in their order, so that the server
// encodes one List while the client decodes another and compares the
// objects of the kinds already read. wait waits for them to end.
func (lo *liveObjects) prefetch(ctx context.Context, steps []Action, workers int) {
	type job struct {
		k    listKey
		gvk  schema.GroupVersionKind
		done chan struct{}
	}
	var jobs []job
	for _, s := range steps {
		gvk := s.Object.GetObjectKind().GroupVersionKind()
		k := listKey{gvk.GroupKind(), s.Object.GetNamespace()}
		if _, ok := lo.pending[k]; s.Op == OpApply && !ok {
			j := job{k, gvk, make(chan struct{})}
			lo.pending[k] = j.done
			jobs = append(jobs, j)
		}
	}
	lo.lists.Add(1)
	go func() {
		defer lo.lists.Done()
		forEach(len(jobs), workers, func(i int) bool {
			if ctx.Err() == nil {
				lo.list(ctx, jobs[i].k, jobs[i].gvk)
			}
			close(jobs[i].done)
			return true
		})
	}()
}

// wait waits for the Lists prefetch started.
func (lo *liveObjects) wait() { lo.lists.Wait() }

// get returns the live object of r (absent when it does not exist), and
// whether it could be read at all.
func (lo *liveObjects) get(ctx context.Context, r *ObjectResult) (live liveObject, known bool, err error) {
	k := listKey{r.GVK.GroupKind(), r.Namespace}
	lo.mu.Lock()
	done := lo.pending[k]
	lo.mu.Unlock()
	if done != nil {
		select {
		case <-done:
		case <-ctx.Done():
			return liveObject{}, false, ctx.Err()
		}
	}
	lo.mu.Lock()
	ok, tried := lo.listed[k]
	lo.mu.Unlock()
	if !tried {
		ok = lo.list(ctx, k, r.GVK)
	}
	if ok {
		lo.mu.Lock()
		defer lo.mu.Unlock()
		return lo.byID[k][r.Name], true, nil
	}
	u, err := lo.reader.Get(ctx, r.GVK, r.Namespace, r.Name)
	if apierrors.IsNotFound(err) {
		return liveObject{}, true, nil
	}
	return unstructuredLive(u), err == nil, err
}

// list reads every object of a kind in a namespace; on failure (a role that may get but not list, say) the
// kind falls back to a Get per object.
func (lo *liveObjects) list(ctx context.Context, k listKey, gvk schema.GroupVersionKind) bool {
	byName, err := lo.read(ctx, k, gvk)
	lo.mu.Lock()
	defer lo.mu.Unlock()
	if err != nil {
		lo.listed[k] = false
		return false
	}
	lo.listed[k], lo.byID[k] = true, byName
	return true
}

func (lo *liveObjects) read(ctx context.Context, k listKey, gvk schema.GroupVersionKind) (map[string]liveObject, error) {
	items, err := lo.reader.List(ctx, gvk, k.namespace, nil)
	if err != nil {
		return nil, err
	}
	byName := make(map[string]liveObject, len(items))
	for _, obj := range items {
		l, err := listedLive(obj)
		if err != nil {
			return nil, err
		}
		byName[l.GetName()] = l
	}
	return byName, nil
}

// applied records what the server stored for r.
func (lo *liveObjects) applied(r *ObjectResult, got *unstructured.Unstructured) {
	lo.mu.Lock()
	defer lo.mu.Unlock()
	if m := lo.byID[listKey{r.GVK.GroupKind(), r.Namespace}]; m != nil && got != nil {
		m[r.Name] = unstructuredLive(got)
	}
}

// gone records that r was deleted.
func (lo *liveObjects) gone(r *ObjectResult) {
	lo.mu.Lock()
	defer lo.mu.Unlock()
	delete(lo.byID[listKey{r.GVK.GroupKind(), r.Namespace}], r.Name)
}
