package apply

import (
	"bytes"
	"reflect"
	"sync"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
	"sigs.k8s.io/structured-merge-diff/v6/typed"
	"sigs.k8s.io/structured-merge-diff/v6/value"
)

// untracked are the fields server-side apply never records as managed, as
// the API server's field manager strips them (managedfields' stripmeta).
var untracked = fieldpath.NewSet(
	fieldpath.MakePathOrDie("apiVersion"),
	fieldpath.MakePathOrDie("kind"),
	fieldpath.MakePathOrDie("metadata"),
	fieldpath.MakePathOrDie("metadata", "name"),
	fieldpath.MakePathOrDie("metadata", "namespace"),
	fieldpath.MakePathOrDie("metadata", "creationTimestamp"),
	fieldpath.MakePathOrDie("metadata", "selfLink"),
	fieldpath.MakePathOrDie("metadata", "uid"),
	fieldpath.MakePathOrDie("metadata", "clusterName"),
	fieldpath.MakePathOrDie("metadata", "generation"),
	fieldpath.MakePathOrDie("metadata", "managedFields"),
	fieldpath.MakePathOrDie("metadata", "resourceVersion"),
)

// upToDate reports whether applying want as manager would change nothing
// on live: manager's last apply owns exactly the fields want sets, and live
// holds want's values in all of them. It is the comparison server-side
// apply itself makes, through managed fields' typed values. Comparing want
// with the whole live object is the same as comparing it with want's
// fields extracted from live (as client-go's Extract functions do with the
// owned set, which is the same set here), without building that copy:
// what live holds beyond want (defaults, other managers' fields, what the
// server maintains) is what the comparison reports as added, and any field
// of want that live lacks or holds otherwise is removed or modified. Any
// doubt (no apply entry, a field another manager took, a value changed or
// defaulted differently, a type the schema does not know) answers false,
// and the object is sent.
func upToDate(types *converter, live liveObject, want *unstructured.Unstructured, manager string) (same bool) {
	defer func() {
		if recover() != nil {
			same = false // a value the walkers could not read: send it
		}
	}()
	wantTyped, err := types.wanted(want)
	if err != nil {
		return false
	}
	wantSet, err := wantTyped.ToFieldSet()
	if err != nil {
		return false
	}
	if !live.owns(manager, wantSet.Difference(untracked)) {
		return false // a field added, dropped, or taken by another manager
	}
	v, err := live.ownable()
	if err != nil {
		return false
	}
	// The API server validated live against the same schema when it was
	// stored; validating it again was an eighth of the comparison's CPU.
	liveTyped := typed.AsTypedUnvalidated(v, wantTyped.Schema(), wantTyped.TypeRef())
	// What the server stores for want holds its schema's defaults too.
	d := types.defaulted(want)
	if d != want {
		wantTyped = typed.AsTypedUnvalidated(value.NewValueInterface(d.Object), wantTyped.Schema(), wantTyped.TypeRef())
	}
	cmp, err := wantTyped.Compare(liveTyped)
	if err != nil {
		return false
	}
	differ := cmp.Removed.Union(cmp.Modified)
	if d != want {
		// A default outside want's own fields (in a list keyed by name,
		// not inside one applied whole) is no field of the manager's:
		// another manager may hold another value there, which an apply
		// would leave as it is.
		differ = differ.Intersection(wantSet)
	}
	return differ.Empty()
}

// defaulter is what a TypeConverter may do beyond managedfields': set the
// defaults of custom resources' schemas (internal/typeconv's does).
type defaulter interface {
	// Defaulted returns obj with the defaults its kind's schema declares
	// set where obj has no value, as the API server sets them on a custom
	// resource; obj itself when its kind declares none. It never changes
	// obj.
	Defaulted(obj *unstructured.Unstructured) *unstructured.Unstructured
}

// converter is the TypeConverter of the kinds applied, with the type of
// each kind it was asked for.
type converter struct {
	managedfields.TypeConverter

	mu    sync.Mutex
	kinds map[schema.GroupVersionKind]*typed.TypedValue
}

func newConverter(tc managedfields.TypeConverter) *converter {
	return &converter{TypeConverter: tc, kinds: map[schema.GroupVersionKind]*typed.TypedValue{}}
}

// defaulted returns want with the defaults of its kind's schema, when the
// converter knows them (a defaulter): the API server sets them on
// custom resources, inside atomic lists too, where the comparison would
// otherwise see them as changes. Otherwise it returns want.
func (c *converter) defaulted(want *unstructured.Unstructured) *unstructured.Unstructured {
	if d, ok := c.TypeConverter.(defaulter); ok {
		return d.Defaulted(want)
	}
	return want
}

// wanted returns want as a typed value of its kind's type, unvalidated: the
// API server validates it when it is sent, and an object the schema does
// not describe has fields that no apply entry owns, so it is sent.
// Validating every object on the client too would cost a large share of a
// re-apply (BENCHMARKS.md).
func (c *converter) wanted(want *unstructured.Unstructured) (*typed.TypedValue, error) {
	gvk := want.GroupVersionKind()
	c.mu.Lock()
	t, ok := c.kinds[gvk]
	c.mu.Unlock()
	if !ok {
		// The type of the kind, as its bare apiVersion and kind resolve.
		bare := &unstructured.Unstructured{}
		bare.SetGroupVersionKind(gvk)
		var err error
		if t, err = c.ObjectToTyped(bare); err != nil {
			return nil, err
		}
		c.mu.Lock()
		c.kinds[gvk] = t
		c.mu.Unlock()
	}
	return typed.AsTypedUnvalidated(value.NewValueInterface(want.Object), t.Schema(), t.TypeRef()), nil
}

// liveObject is a live object as listed or as the server returned it:
// unstructured, or typed (one of Kubernetes' own kinds, which an adapter
// decoded from protobuf: see Reader.List), compared as it is and
// converted to unstructured only for a dry run's diff. The zero value is
// an object that does not exist.
type liveObject struct {
	metav1.Object // nil when the object does not exist
	u             *unstructured.Unstructured
	typed         runtime.Object
}

func unstructuredLive(u *unstructured.Unstructured) liveObject {
	if u == nil {
		return liveObject{}
	}
	return liveObject{Object: u, u: u}
}

// listedLive is an object as a Reader listed it.
func listedLive(obj runtime.Object) (liveObject, error) {
	if u, ok := obj.(*unstructured.Unstructured); ok {
		return unstructuredLive(u), nil
	}
	m, err := meta.Accessor(obj)
	if err != nil {
		return liveObject{}, err
	}
	return liveObject{Object: m, typed: obj}, nil
}

func (l liveObject) exists() bool { return l.Object != nil }

// unstructured returns the object as an unstructured one.
func (l liveObject) unstructured() *unstructured.Unstructured {
	if l.typed == nil {
		return l.u
	}
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(l.typed)
	if err != nil {
		return nil
	}
	u := &unstructured.Unstructured{Object: m}
	u.SetGroupVersionKind(l.typed.GetObjectKind().GroupVersionKind())
	return u
}

// owns reports whether manager's last apply owns exactly the fields of
// set. The API server records as owned the fields of the applied object
// (what ToFieldSet returns for want, without the untracked ones), so the
// recorded set is most often set itself, written by the same fieldpath
// code: a typed object's entry, as JSON, is then set's own JSON. Failing
// that, the two must hold the same leaves.
func (l liveObject) owns(manager string, set *fieldpath.Set) bool {
	if l.typed != nil {
		for _, e := range l.GetManagedFields() {
			if e.Manager != manager || e.Operation != metav1.ManagedFieldsOperationApply || e.Subresource != "" {
				continue
			}
			if e.FieldsType != "FieldsV1" || e.FieldsV1 == nil {
				return false
			}
			if b, err := set.ToJSON(); err == nil && bytes.Equal(b, e.FieldsV1.Raw) {
				return true
			}
			owned := &fieldpath.Set{}
			return owned.FromJSON(bytes.NewReader(e.FieldsV1.Raw)) == nil && sameLeaves(set, owned)
		}
		return false
	}
	// An unstructured object's entry is maps, read as they are:
	// unstructured's GetManagedFields converts every entry to typed ones
	// through JSON, which cost more than the comparison.
	md, _ := l.u.Object["metadata"].(map[string]any)
	entries, _ := md["managedFields"].([]any)
	for _, e := range entries {
		m, _ := e.(map[string]any)
		if m["manager"] != manager || m["operation"] != string(metav1.ManagedFieldsOperationApply) {
			continue
		}
		if sub, _ := m["subresource"].(string); sub != "" {
			continue
		}
		fields, ok := m["fieldsV1"].(map[string]any)
		if m["fieldsType"] != "FieldsV1" || !ok {
			return false
		}
		owned := &fieldpath.Set{}
		if _, err := addFields(owned, nil, fields); err != nil {
			return false
		}
		return owned.Equals(set) || sameLeaves(set, owned)
	}
	return false
}

func sameLeaves(a, b *fieldpath.Set) bool { return a.Leaves().Equals(b.Leaves()) }

// addFields adds to set the fields of a fieldsV1 map below path, read as
// fieldpath's own FromJSON reads them: "." marks a member that has
// children too, and a key with no children is a member. It reports
// whether it added any.
func addFields(set *fieldpath.Set, path fieldpath.Path, fields map[string]any) (bool, error) {
	added := false
	for k, v := range fields {
		if k == "." {
			set.Insert(path)
			added = true
			continue
		}
		pe, err := fieldpath.DeserializePathElement(k)
		if err == fieldpath.ErrUnknownPathElementType {
			continue // as FromJSON, which drops what it does not know
		}
		if err != nil {
			return false, err
		}
		child := append(path[:len(path):len(path)], pe)
		sub, _ := v.(map[string]any)
		below, err := addFields(set, child, sub)
		if err != nil {
			return false, err
		}
		if !below {
			set.Insert(child)
		}
		added = true
	}
	return added, nil
}

// ownable is live without what no apply owns and the comparison never
// reads, its status and managed fields, which are most of a stored
// Deployment: walking them would be most of the cost. It shares everything
// else with live.
func (l liveObject) ownable() (value.Value, error) {
	if l.typed != nil {
		// A shallow copy of the struct, without them.
		c := reflect.New(reflect.TypeOf(l.typed).Elem())
		c.Elem().Set(reflect.ValueOf(l.typed).Elem())
		if f := c.Elem().FieldByName("Status"); f.IsValid() && f.CanSet() {
			f.SetZero()
		}
		obj := c.Interface().(runtime.Object)
		m, err := meta.Accessor(obj)
		if err != nil {
			return nil, err
		}
		m.SetManagedFields(nil)
		return value.NewValueReflect(obj)
	}
	obj := make(map[string]any, len(l.u.Object))
	for k, v := range l.u.Object {
		if k != "status" {
			obj[k] = v
		}
	}
	if md, ok := l.u.Object["metadata"].(map[string]any); ok {
		m := make(map[string]any, len(md))
		for k, v := range md {
			if k != "managedFields" {
				m[k] = v
			}
		}
		obj["metadata"] = m
	}
	return value.NewValueInterface(obj), nil
}
