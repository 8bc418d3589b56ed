package canon

import (
	"bytes"
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"
	"unsafe"

	"google.golang.org/protobuf/proto"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// The encoder writes canonical YAML straight from typed values. It follows
// encoding/json's rules for Go structs (json tags, omitempty, omitzero,
// embedded structs, json.Marshaler) and protojson's for protobuf messages,
// then applies mlmesh's canonical form:
//
//   - keys sorted bytewise, two-space indent, lists at their key's indent;
//   - nulls, empty lists and empty maps are left out, except a map that a
//     non-nil pointer or a set protobuf message makes present ("emptyDir: {}"),
//     which is written as {};
//   - the top-level status and server-populated metadata are left out;
//   - every destination of a weighted route carries its weight, 0 included,
//     a ServiceEntry its location and resolution, MESH_EXTERNAL and NONE
//     included, and retries their attempts, 0 included (protojson leaves
//     zero values out).
//
// Unlike a generic YAML library, nothing is parsed back: each value is
// written once, which is what makes rendering fast.

// encoder appends YAML to buf. Its methods write "key: value" lines at a
// given indent and may roll back what they wrote when a value turns out empty.
type encoder struct {
	buf []byte
	// dash is set while a list item's value is written: a map writes its
	// first entry on the dash's line ("- key: v").
	dash bool
	// top is set while a document is begun: its map starts on the line the
	// document does, not on the next (object).
	top bool
	// keys and pairs are scratch space for sorting map entries.
	keys       []mapKey
	pairs      []kv
	entries    []msgEntry
	plainCache *plainCache // made on first use
	keySets    keySets     // of the string maps written
	// reflective makes object() take the reflection path instead of the
	// compiled codecs (codec.go), for the tests that hold one to the other.
	reflective bool
}

type kv struct{ k, v string }

type mapKey struct {
	name string
	v    reflect.Value
}

var (
	protoMessageType  = reflect.TypeFor[proto.Message]()
	jsonMarshalerType = reflect.TypeFor[json.Marshaler]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
	quantityType      = reflect.TypeFor[resource.Quantity]()
	intOrStringType   = reflect.TypeFor[intstr.IntOrString]()
	timeType          = reflect.TypeFor[metav1.Time]()
	microTimeType     = reflect.TypeFor[metav1.MicroTime]()
	durationType      = reflect.TypeFor[metav1.Duration]()
)

// field is one JSON field of a struct type, flattened through embedded structs.
type field struct {
	name      string
	key       []byte // the YAML key followed by ':', after keyPad spaces (paddedKey)
	index     []int
	omitEmpty bool
	omitZero  bool
	// fast is set for plain scalar fields, written without the general path.
	fast reflect.Kind
	// cls is the class of the field's type once pointers are followed, when
	// that type is not an interface; valueOf uses it instead of a lookup.
	cls    typeClass
	hasCls bool
	// nilable is set for pointer, map, slice and interface fields, whose nil
	// value is left out whatever the tags say (encoding/json writes null).
	nilable bool
	// server is set for the metadata fields the API server fills in.
	server bool
}

// derefType follows pointer types to the type they point at.
func derefType(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer && classOf(t) != tcProtoPtr {
		t = t.Elem()
	}
	return t
}

// fastKind returns the kind of t when values of t are plain scalars (no
// marshaler, not a type the encoder treats specially), else Invalid.
func fastKind(t reflect.Type) reflect.Kind {
	switch t.Kind() {
	case reflect.String, reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if classOf(t) == tcPlain {
			return t.Kind()
		}
	}
	return reflect.Invalid
}

type structPlan struct {
	fields []field // sorted by name
}

// Per-type caches. The compiled codecs (codec.go) consult them while they
// compile, the reflection path on every value.
var (
	plans   sync.Map // reflect.Type -> *structPlan
	classes sync.Map // reflect.Type -> typeClass
)

// typeClass is how the encoder writes values of a type, decided once per type.
type typeClass uint8

const (
	tcPlain       typeClass = iota // by reflect.Kind
	tcQuantity                     // resource.Quantity
	tcIntOrString                  // intstr.IntOrString
	tcTime                         // metav1.Time
	tcMicroTime                    // metav1.MicroTime
	tcDuration                     // metav1.Duration
	tcProtoAddr                    // a struct whose pointer is a proto.Message
	tcProtoPtr                     // a pointer that is a proto.Message
	tcMarshaler                    // json.Marshaler or encoding.TextMarshaler
)

func classOf(t reflect.Type) typeClass {
	if c, ok := classes.Load(t); ok {
		return c.(typeClass)
	}
	c := tcPlain
	switch {
	case t == quantityType:
		c = tcQuantity
	case t == intOrStringType:
		c = tcIntOrString
	case t == timeType:
		c = tcTime
	case t == microTimeType:
		c = tcMicroTime
	case t == durationType:
		c = tcDuration
	case t.Kind() == reflect.Pointer && t.Implements(protoMessageType):
		c = tcProtoPtr
	case t.Kind() != reflect.Pointer && reflect.PointerTo(t).Implements(protoMessageType):
		c = tcProtoAddr
	case t.Kind() == reflect.Pointer || t.Kind() == reflect.Interface:
		c = tcPlain
	case t.Implements(jsonMarshalerType) || reflect.PointerTo(t).Implements(jsonMarshalerType):
		c = tcMarshaler
	case t.Kind() != reflect.Struct && t.Implements(textMarshalerType):
		c = tcMarshaler
	}
	classes.Store(t, c)
	return c
}

func planFor(t reflect.Type) *structPlan {
	if p, ok := plans.Load(t); ok {
		return p.(*structPlan)
	}
	p, _ := plans.LoadOrStore(t, &structPlan{fields: typeFields(t)})
	return p.(*structPlan)
}

// typeFields lists t's JSON fields as encoding/json would: exported fields
// with their tag names, embedded structs without a name flattened, the
// shallowest field winning a name clash.
func typeFields(t reflect.Type) []field {
	type cand struct {
		field
		depth int
	}
	var all []cand
	var walk func(t reflect.Type, index []int, depth int)
	walk = func(t reflect.Type, index []int, depth int) {
		for i := 0; i < t.NumField(); i++ {
			sf := t.Field(i)
			tag := sf.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, opts, _ := strings.Cut(tag, ",")
			ft := sf.Type
			if sf.Anonymous && name == "" {
				et := ft
				if et.Kind() == reflect.Pointer {
					et = et.Elem()
				}
				if et.Kind() == reflect.Struct {
					walk(et, append(append([]int(nil), index...), i), depth+1)
					continue
				}
			}
			if !sf.IsExported() {
				continue
			}
			if name == "" {
				name = sf.Name
			}
			f := field{name: name, index: append(append([]int(nil), index...), i)}
			for opts != "" {
				var o string
				o, opts, _ = strings.Cut(opts, ",")
				switch o {
				case "omitempty":
					f.omitEmpty = true
				case "omitzero":
					f.omitZero = true
				}
			}
			f.key = paddedKey(name)
			f.fast = fastKind(ft)
			f.server = serverMetadata[name]
			if et := derefType(ft); et.Kind() != reflect.Interface {
				f.cls, f.hasCls = classOf(et), true
			}
			switch ft.Kind() {
			case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Interface:
				f.nilable = true
			}
			all = append(all, cand{f, depth})
		}
	}
	walk(t, nil, 0)
	sort.SliceStable(all, func(i, j int) bool {
		if all[i].name != all[j].name {
			return all[i].name < all[j].name
		}
		return all[i].depth < all[j].depth
	})
	var out []field
	for i := 0; i < len(all); i++ {
		if i > 0 && all[i].name == all[i-1].name {
			continue // a deeper (or later) field of the same name loses
		}
		out = append(out, all[i].field)
	}
	return out
}

// fieldByIndex follows index through embedded pointers; ok is false when a
// nil embedded pointer is on the way.
func fieldByIndex(v reflect.Value, index []int) (reflect.Value, bool) {
	for i, x := range index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				return reflect.Value{}, false
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v, true
}

func isEmptyJSON(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Bool:
		return !v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int() == 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return v.Uint() == 0
	case reflect.Float32, reflect.Float64:
		return v.Float() == 0
	case reflect.String, reflect.Slice, reflect.Map, reflect.Array:
		return v.Len() == 0
	case reflect.Pointer, reflect.Interface:
		return v.IsNil()
	}
	return false
}

type isZeroer interface{ IsZero() bool }

func isZeroValue(v reflect.Value) bool {
	if v.Kind() == reflect.Pointer && v.IsNil() {
		return true
	}
	if z, ok := v.Interface().(isZeroer); ok {
		return z.IsZero()
	}
	return v.IsZero()
}

const spaces = "                                                                " // 64

// indent appends n spaces.
func (e *encoder) indent(n int) {
	for ; n > len(spaces); n -= len(spaces) {
		e.buf = append(e.buf, spaces...)
	}
	e.buf = append(e.buf, spaces[:n]...)
}

// Every "write" method below writes one value that follows a key (or a
// list dash) already on the current line. It returns false, having written
// nothing, when the value is to be left out. A scalar continues the line;
// a map or list ends it and writes its entries at indent.

// value writes a Go value. present says that an empty map should still be
// written (it came from a non-nil pointer or a set message).
func (e *encoder) value(v reflect.Value, indent int, present bool) (bool, error) {
	return e.valueClass(v, indent, present, 0, false)
}

// valueClass is value with the class of v's type (after pointers) already
// known when known is set.
func (e *encoder) valueClass(v reflect.Value, indent int, present bool, cls typeClass, known bool) (bool, error) {
	for {
		k := v.Kind()
		if k != reflect.Pointer && k != reflect.Interface {
			break
		}
		if v.IsNil() {
			return false, nil
		}
		if k == reflect.Pointer {
			if known && cls == tcProtoPtr || !known && classOf(v.Type()) == tcProtoPtr {
				return e.message(v.Interface().(proto.Message).ProtoReflect(), indent, true, "")
			}
			present = true
		} else {
			known = false // an interface: the dynamic type decides
		}
		v = v.Elem()
	}
	if !known {
		cls = classOf(v.Type())
	}
	switch cls {
	case tcQuantity:
		e.quantity(v.Interface().(resource.Quantity))
		return true, nil
	case tcIntOrString:
		is := v.Interface().(intstr.IntOrString)
		e.intOrString(&is)
		return true, nil
	case tcTime:
		tm := v.Interface().(metav1.Time)
		if tm.IsZero() {
			return false, nil
		}
		e.scalarSep()
		e.buf = appendString(e.buf, tm.UTC().Format("2006-01-02T15:04:05Z07:00"))
		return true, nil
	case tcMicroTime:
		tm := v.Interface().(metav1.MicroTime)
		if tm.IsZero() {
			return false, nil
		}
		e.scalarSep()
		e.buf = appendString(e.buf, tm.UTC().Format("2006-01-02T15:04:05.000000Z07:00"))
		return true, nil
	case tcDuration:
		e.scalarSep()
		e.buf = appendString(e.buf, v.Interface().(metav1.Duration).Duration.String())
		return true, nil
	case tcProtoAddr:
		if v.CanAddr() {
			return e.message(v.Addr().Interface().(proto.Message).ProtoReflect(), indent, present, "")
		}
		p := reflect.New(v.Type())
		p.Elem().Set(v)
		return e.message(p.Interface().(proto.Message).ProtoReflect(), indent, present, "")
	case tcMarshaler:
		if m, ok := marshaler(v); ok {
			return e.viaJSON(m, indent, present)
		}
	}
	switch v.Kind() {
	case reflect.Struct:
		return e.structValue(v, indent, present, modeValue)
	case reflect.Map:
		return e.mapValue(v, indent, present)
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Uint8 {
			if v.IsNil() {
				return false, nil
			}
			b, _ := json.Marshal(v.Bytes()) // base64, as encoding/json
			e.scalarSep()
			e.buf = append(e.buf, b...)
			return true, nil
		}
		return e.listValue(v, indent)
	case reflect.String, reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64:
		if !v.CanAddr() { // a map's value or an interface's: appendScalar reads through an address
			c := reflect.New(v.Type()).Elem()
			c.Set(v)
			v = c
		}
		e.scalarSep()
		e.appendScalar(v.Kind(), v.Addr().UnsafePointer())
	default:
		return false, fmt.Errorf("cannot render a value of type %s", v.Type())
	}
	return true, nil
}

// marshaler returns v's json.Marshaler or encoding.TextMarshaler.
func marshaler(v reflect.Value) (any, bool) {
	if v.CanInterface() {
		if m, ok := v.Interface().(json.Marshaler); ok {
			return m, true
		}
	}
	if v.CanAddr() {
		if m, ok := v.Addr().Interface().(json.Marshaler); ok {
			return m, true
		}
	}
	if v.Kind() != reflect.Struct && v.CanInterface() {
		if m, ok := v.Interface().(encoding.TextMarshaler); ok {
			return m, true
		}
	}
	return nil, false
}

// viaJSON writes a value whose type marshals itself: its JSON is decoded and
// written as generic data. This is the slow path, for types mlmesh does not
// know (runtime.RawExtension, CRD fields, a user's own types).
func (e *encoder) viaJSON(m any, indent int, present bool) (bool, error) {
	var raw []byte
	var err error
	switch m := m.(type) {
	case json.Marshaler:
		raw, err = m.MarshalJSON()
	case encoding.TextMarshaler:
		var t []byte
		t, err = m.MarshalText()
		if err == nil {
			e.scalarSep()
			e.buf = appendString(e.buf, string(t))
			return true, nil
		}
	}
	if err != nil {
		return false, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var g any
	if err := dec.Decode(&g); err != nil {
		return false, err
	}
	return e.generic(g, indent, present)
}

// generic writes data decoded from JSON.
func (e *encoder) generic(g any, indent int, present bool) (bool, error) {
	switch g := g.(type) {
	case nil:
		return false, nil
	case map[string]any:
		keys := make([]string, 0, len(g))
		for k := range g {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b := e.beginBlock(indent)
		for _, k := range keys {
			if err := e.entryName(&b, k); err != nil {
				return false, err
			}
			ok, err := e.generic(g[k], indent+2, false)
			if err := e.endEntry(&b, ok, k, err); err != nil {
				return false, err
			}
		}
		return e.endBlock(&b, present), nil
	case []any:
		if len(g) == 0 {
			return false, nil
		}
		e.dash = false
		return e.sequence(len(g), indent, func(i int) (bool, error) {
			if _, nested := g[i].([]any); nested {
				// A list in a list starts on the next line, under its dash:
				// at the same indent its items would be the outer list's.
				return e.generic(g[i], indent+2, true)
			}
			return e.generic(g[i], indent, true)
		})
	case string:
		e.scalarSep()
		e.buf = appendString(e.buf, g)
	case json.Number:
		e.scalarSep()
		e.buf = append(e.buf, g.String()...)
	case int64:
		e.scalarSep()
		e.buf = appendInt(e.buf, g)
	case int:
		e.scalarSep()
		e.buf = appendInt(e.buf, int64(g))
	case float64:
		e.scalarSep()
		e.buf = appendFloat(e.buf, g, 64)
	case bool:
		e.scalarSep()
		e.boolean(g)
	default:
		return false, fmt.Errorf("cannot render JSON value of type %T", g)
	}
	return true, nil
}

// maxKey is the longest implicit key YAML allows, in characters; a longer
// one would need the explicit "? " form, which no Kubernetes field needs.
const maxKey = 1024

// plainCache remembers which strings were plain scalars, by the address
// of their bytes: label keys and values, names, images and hosts are
// mostly constants or a model's own strings, met again in each of its
// objects. An entry holds a pointer to the bytes, so they cannot be freed
// and reused for another string while it is cached.
type plainCache [128]struct {
	p     *byte
	n     int
	plain bool
}

// plain reports whether s can be written as a plain scalar (plainSafe),
// remembering the answer.
func (e *encoder) plain(s string) bool {
	if len(s) == 0 {
		return false
	}
	if e.plainCache == nil {
		e.plainCache = new(plainCache)
	}
	p := unsafe.StringData(s)
	c := &e.plainCache[(uintptr(unsafe.Pointer(p))>>3)%uintptr(len(e.plainCache))]
	if c.p != p || c.n != len(s) {
		c.p, c.n, c.plain = p, len(s), plainSafe(s)
	}
	return c.plain
}

// str appends s as appendString does.
func (e *encoder) str(s string) {
	if e.plain(s) {
		e.buf = append(e.buf, s...)
		return
	}
	e.buf = appendQuoted(e.buf, s)
}

// key writes a map key and its colon.
func (e *encoder) key(k string) error {
	start := len(e.buf)
	if len(k) <= maxKey && e.plain(k) {
		e.buf = append(e.buf, k...)
		e.buf = append(e.buf, ':')
		return nil
	}
	e.buf = appendString(e.buf, k)
	if len(e.buf)-start > maxKey {
		e.buf = e.buf[:start]
		return fmt.Errorf("map key %.40q... is longer than the %d characters a YAML key may have", k, maxKey)
	}
	e.buf = append(e.buf, ':')
	return nil
}

// scalarSep separates a scalar from the key or dash before it.
func (e *encoder) scalarSep() { e.buf = append(e.buf, ' ') }

// endLine ends the current line unless a nested block already did.
func (e *encoder) endLine() {
	if n := len(e.buf); n == 0 || e.buf[n-1] != '\n' {
		e.buf = append(e.buf, '\n')
	}
}

func (e *encoder) trimNewline() {
	if n := len(e.buf); n > 0 && e.buf[n-1] == '\n' {
		e.buf = e.buf[:n-1]
	}
}

// structMode says what a struct is to the encoder: a whole object's status
// is left out, and the server-populated fields of any metadata (an object's,
// a pod template's).
type structMode uint8

const (
	modeValue  structMode = iota // a struct inside an object
	modeObject                   // a whole object
	modeMeta                     // a "metadata" struct
)

// skips reports whether a struct in mode leaves out field f.
func (m structMode) skips(f *field) bool {
	return m == modeObject && f.name == "status" || m == modeMeta && f.server
}

// fieldMode is the mode of the struct held by field f of a struct in mode m.
func (m structMode) fieldMode(f *field) structMode {
	if f.name == "metadata" && m != modeMeta {
		return modeMeta
	}
	return modeValue
}

func (e *encoder) structValue(v reflect.Value, indent int, present bool, mode structMode) (bool, error) {
	if !v.CanAddr() { // a map value: plain fields are read through their address
		c := reflect.New(v.Type()).Elem()
		c.Set(v)
		v = c
	}
	plan := planFor(v.Type())
	b := e.beginBlock(indent)
	for i := range plan.fields {
		f := &plan.fields[i]
		if mode.skips(f) {
			continue
		}
		var fv reflect.Value
		if len(f.index) == 1 {
			fv = v.Field(f.index[0])
		} else {
			var ok bool
			if fv, ok = fieldByIndex(v, f.index); !ok {
				continue
			}
		}
		if f.fast != reflect.Invalid {
			e.fastFieldAt(&b, f.key, f.fast, f.omitEmpty || f.omitZero, fv.Addr().UnsafePointer())
			continue
		}
		if f.nilable && fv.IsNil() {
			continue
		}
		if f.omitEmpty && isEmptyJSON(fv) || f.omitZero && isZeroValue(fv) {
			continue
		}
		e.entryKey(&b, f.key)
		var ok bool
		var err error
		if fm := mode.fieldMode(f); fm != modeValue && fv.Kind() == reflect.Struct {
			ok, err = e.structValue(fv, indent+2, false, fm)
		} else {
			ok, err = e.valueClass(fv, indent+2, false, f.cls, f.hasCls)
		}
		if err := e.endEntry(&b, ok, f.name, err); err != nil {
			return false, err
		}
	}
	return e.endBlock(&b, present), nil
}

func (e *encoder) mapValue(v reflect.Value, indent int, present bool) (bool, error) {
	if v.Len() == 0 {
		e.dash = false
		if present && !v.IsNil() {
			e.buf = append(e.buf, " {}"...)
			return true, nil
		}
		return false, nil
	}
	if v.Type() == stringMapType {
		return e.stringMap(v.Interface().(map[string]string), indent, present)
	}
	// Sort the keys in the scratch slice; nested maps append after ours.
	base := len(e.keys)
	it := v.MapRange()
	for it.Next() {
		k := it.Key()
		name := ""
		if k.Kind() == reflect.String {
			name = k.String()
		} else {
			name = fmt.Sprint(k.Interface())
		}
		e.keys = append(e.keys, mapKey{name, it.Value()})
	}
	keys := e.keys[base:]
	sortByKey(keys, func(k mapKey) string { return k.name })
	defer func() { e.keys = e.keys[:base] }()
	b := e.beginBlock(indent)
	for i := range keys {
		k := keys[i]
		if err := e.entryName(&b, k.name); err != nil {
			return false, err
		}
		ok, err := e.value(k.v, indent+2, false)
		if err := e.endEntry(&b, ok, k.name, err); err != nil {
			return false, err
		}
	}
	return e.endBlock(&b, present), nil
}

var stringMapType = reflect.TypeFor[map[string]string]()

// sortByKey sorts a map's entries by key. An insertion sort: the maps
// rendered hold a handful of entries, and it measured faster than
// slices.SortFunc on them (BenchmarkRenderObject).
func sortByKey[T any](s []T, key func(T) string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && key(s[j]) < key(s[j-1]); j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// keySets remembers the key sets of the string maps written last: for
// each size up to maxRemembered, the last keySetWays sets, the most recent
// first, each with its keys sorted and written out ("key:"). The label
// maps of a fleet repeat their keys from object to object; a map of the
// size and keys of a remembered set is written by looking its keys up in
// order, without iterating it, sorting its keys or writing them again.
type keySets struct {
	sets [maxRemembered + 1]*[keySetWays]keySet // by size, made on first use
	vals [maxRemembered]string                  // the values found by lookup
}

const (
	maxRemembered = 16
	keySetWays    = 4
)

type keySet struct {
	keys []string // sorted
	enc  [][]byte // each key as written, with its colon
}

// lookup finds the remembered set of m's keys and m's values in its
// order, or nil. A set of len(m) distinct keys all of which m has is m's
// keys.
func (s *keySets) lookup(m map[string]string) (*keySet, []string) {
	n := len(m)
	if n == 0 || n > maxRemembered || s.sets[n] == nil {
		return nil, nil
	}
	ways := s.sets[n]
	for w := range ways {
		ks := &ways[w]
		if len(ks.keys) != n {
			return nil, nil // ways are filled in order: no set after an empty one
		}
		found := 0
		for _, k := range ks.keys {
			v, ok := m[k]
			if !ok {
				break
			}
			s.vals[found] = v
			found++
		}
		if found == n {
			if w > 0 { // most recent first
				hit := *ks
				copy(ways[1:w+1], ways[:w])
				ways[0] = hit
			}
			return &ways[0], s.vals[:n]
		}
	}
	return nil, nil
}

// remember keeps the keys of sorted pairs as the most recent set of their
// size, reusing the storage of the set it drops. Keys too long to write
// are not remembered (writing them fails).
func (s *keySets) remember(pairs []kv) {
	n := len(pairs)
	if n == 0 || n > maxRemembered {
		return
	}
	if s.sets[n] == nil {
		s.sets[n] = new([keySetWays]keySet)
	}
	ways := s.sets[n]
	ks := ways[keySetWays-1]
	copy(ways[1:], ways[:keySetWays-1])
	ks.keys, ks.enc = ks.keys[:0], ks.enc[:0]
	for i, p := range pairs {
		var enc []byte
		if i < cap(ks.enc) {
			enc = ks.enc[:i+1][i][:0]
		}
		enc = appendKey(enc, p.k)
		if len(enc) > keyPad+maxKey+1 {
			copy(ways[:keySetWays-1], ways[1:]) // back as they were
			ways[keySetWays-1] = keySet{}
			return
		}
		ks.keys = append(ks.keys, p.k)
		ks.enc = append(ks.enc, enc)
	}
	ways[0] = ks
}

// appendKey appends k as a map key is written (encoder.key), with its
// colon, however long, after keyPad spaces (paddedKey).
func appendKey(b []byte, k string) []byte {
	b = append(b, spaces[:keyPad]...)
	b = appendString(b, k)
	return append(b, ':')
}

// stringMap writes a map[string]string (labels, selectors, annotations)
// without reflection: as a map of remembered keys (keySets) when it is
// one, else sorted and remembered.
func (e *encoder) stringMap(m map[string]string, indent int, present bool) (bool, error) {
	if ks, vals := e.keySets.lookup(m); ks != nil {
		b := e.beginBlock(indent)
		for i := range vals {
			e.entryKey(&b, ks.enc[i])
			e.scalarSep()
			e.str(vals[i])
			e.endEntry(&b, true, "", nil)
		}
		return e.endBlock(&b, present), nil
	}
	base := len(e.pairs)
	for k, v := range m {
		e.pairs = append(e.pairs, kv{k, v})
	}
	pairs := e.pairs[base:]
	sortByKey(pairs, func(p kv) string { return p.k })
	e.keySets.remember(pairs)
	return e.writePairs(base, indent, present)
}

// sortedPairs writes the pairs from e.pairs[base:] as a block map of
// strings, keys sorted, and takes them off e.pairs.
func (e *encoder) sortedPairs(base, indent int, present bool) (bool, error) {
	sortByKey(e.pairs[base:], func(p kv) string { return p.k })
	return e.writePairs(base, indent, present)
}

// writePairs writes the pairs from e.pairs[base:], in their order, as a
// block map of strings, and takes them off e.pairs.
func (e *encoder) writePairs(base, indent int, present bool) (bool, error) {
	pairs := e.pairs[base:]
	defer func() { e.pairs = e.pairs[:base] }()
	b := e.beginBlock(indent)
	for i := range pairs {
		if err := e.entryName(&b, pairs[i].k); err != nil {
			return false, err
		}
		e.scalarSep()
		e.str(pairs[i].v)
		e.endEntry(&b, true, "", nil)
	}
	return e.endBlock(&b, present), nil
}

// listValue writes a block sequence at indent-2 (lists sit at their key's
// indent). A nil element is written as null so that positions are kept.
func (e *encoder) listValue(v reflect.Value, indent int) (bool, error) {
	e.dash = false
	return e.sequence(v.Len(), indent, func(i int) (bool, error) { return e.value(v.Index(i), indent, true) })
}

// sequence writes a block sequence of n items at indent-2 (lists sit at
// their key's indent), item writing the i-th after its dash; an item that
// writes nothing is written as null, so that positions are kept. An empty
// sequence is left out.
func (e *encoder) sequence(n, indent int, item func(i int) (bool, error)) (bool, error) {
	if n == 0 {
		return false, nil
	}
	e.buf = append(e.buf, '\n')
	for i := 0; i < n; i++ {
		e.indent(indent - 2)
		e.buf = append(e.buf, '-')
		e.dash = true
		ok, err := item(i)
		e.dash = false
		if err != nil {
			return false, fmt.Errorf("[%d]: %w", i, err)
		}
		if !ok {
			e.buf = append(e.buf, " null"...)
		}
		e.endLine()
	}
	e.trimNewline()
	return true, nil
}
