package canon

import (
	"reflect"
	"sync"
	"sync/atomic"
	"unsafe"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Compiled codecs: the encoder's fast path.
//
// The first time the encoder meets a Go type it compiles an encFn for it:
// struct fields become offsets, their omitempty tests and scalar writers are
// chosen once, and values are then read through pointers instead of through
// reflect.Value. This is how the fastest Go encoders work (a reflect.Value
// walk spends most of its time re-deriving what the type already says), and
// it writes the same bytes as the reflection path in encode.go, which stays
// as the fallback for what codecs do not compile (interfaces, marshalers,
// arrays, maps other than map[string]string) and as the reference that
// TestCodecsMatchReflection holds the codecs to.

// encFn writes the value of one type stored at p, with valueClass's
// contract: it returns false, having written nothing, when the value is to
// be left out; present says that an empty map is written as {}.
type encFn func(e *encoder, p unsafe.Pointer, indent int, present bool) (bool, error)

// codec is a compiled encFn. Fields refer to codecs by pointer, so that a
// recursive type can refer to its own codec while it is being compiled.
type codec struct{ fn encFn }

type codecKey struct {
	t    reflect.Type
	mode structMode
}

var (
	codecsMu sync.Mutex
	codecs   atomic.Pointer[map[codecKey]*codec]
	// building holds the codecs being compiled, under codecsMu.
	building map[codecKey]*codec
)

// codecFor returns the compiled codec of values of t in mode, compiling it
// (and the codecs it needs) on first use.
func codecFor(t reflect.Type, mode structMode) *codec {
	k := codecKey{t, mode}
	if m := codecs.Load(); m != nil {
		if c, ok := (*m)[k]; ok {
			return c
		}
	}
	codecsMu.Lock()
	defer codecsMu.Unlock()
	building = map[codecKey]*codec{}
	c := compile(t, mode)
	old := codecs.Load()
	next := make(map[codecKey]*codec, len(building)+1)
	if old != nil {
		for k, v := range *old {
			next[k] = v
		}
	}
	for k, v := range building {
		if _, ok := next[k]; !ok {
			next[k] = v
		}
	}
	codecs.Store(&next)
	building = nil
	return c
}

// compile returns t's codec, with codecsMu held.
func compile(t reflect.Type, mode structMode) *codec {
	k := codecKey{t, mode}
	if m := codecs.Load(); m != nil {
		if c, ok := (*m)[k]; ok {
			return c
		}
	}
	if c, ok := building[k]; ok {
		return c // recursive: filled in below before it is called
	}
	c := &codec{}
	building[k] = c
	c.fn = compileFn(t, mode)
	return c
}

// viaReflection is the codec of a type that codecs do not compile: the
// reflection path writes it.
func viaReflection(t reflect.Type) encFn {
	return func(e *encoder, p unsafe.Pointer, indent int, present bool) (bool, error) {
		return e.value(reflect.NewAt(t, p).Elem(), indent, present)
	}
}

func compileFn(t reflect.Type, mode structMode) encFn {
	switch classOf(t) {
	case tcQuantity:
		return func(e *encoder, p unsafe.Pointer, _ int, _ bool) (bool, error) {
			e.quantity(*(*resource.Quantity)(p))
			return true, nil
		}
	case tcIntOrString:
		return func(e *encoder, p unsafe.Pointer, _ int, _ bool) (bool, error) {
			e.intOrString((*intstr.IntOrString)(p))
			return true, nil
		}
	case tcTime, tcMicroTime, tcDuration, tcMarshaler:
		return viaReflection(t)
	case tcProtoAddr:
		mc := messageCodecFor(t)
		return func(e *encoder, p unsafe.Pointer, indent int, present bool) (bool, error) {
			return mc.encode(e, p, indent, present, false)
		}
	case tcProtoPtr:
		mc := messageCodecFor(t.Elem())
		return func(e *encoder, p unsafe.Pointer, indent int, _ bool) (bool, error) {
			q := *(*unsafe.Pointer)(p)
			if q == nil {
				return false, nil
			}
			return mc.encode(e, q, indent, true, false)
		}
	}
	switch t.Kind() {
	case reflect.Pointer:
		elem := compile(t.Elem(), modeValue)
		return func(e *encoder, p unsafe.Pointer, indent int, _ bool) (bool, error) {
			q := *(*unsafe.Pointer)(p)
			if q == nil {
				return false, nil
			}
			return elem.fn(e, q, indent, true)
		}
	case reflect.Struct:
		return compileStruct(t, mode)
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return viaReflection(t)
		}
		return compileSlice(t)
	case reflect.Map:
		if t == stringMapType {
			return func(e *encoder, p unsafe.Pointer, indent int, present bool) (bool, error) {
				m := *(*map[string]string)(p)
				if len(m) == 0 {
					return e.emptyMap(present, m != nil), nil
				}
				return e.stringMap(m, indent, present)
			}
		}
		if t == resourceListType {
			return resourceList
		}
		if t.Key().Kind() == reflect.String && classOf(t.Key()) == tcPlain {
			return compileStringKeyedMap(t)
		}
		return viaReflection(t)
	case reflect.String, reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64:
		k := t.Kind()
		return func(e *encoder, p unsafe.Pointer, _ int, _ bool) (bool, error) {
			e.scalarSep()
			e.appendScalar(k, p)
			return true, nil
		}
	}
	return viaReflection(t) // interfaces, arrays, and what the reflection path rejects
}

// appendScalar appends the Go scalar of kind k stored at p: the one writer
// of Go scalars, for the compiled codecs and the reflection walk alike.
func (e *encoder) appendScalar(k reflect.Kind, p unsafe.Pointer) {
	switch k {
	case reflect.String:
		e.str(*(*string)(p))
	case reflect.Bool:
		e.boolean(*(*bool)(p))
	case reflect.Float32:
		e.buf = appendFloat(e.buf, float64(*(*float32)(p)), 32)
	case reflect.Float64:
		e.buf = appendFloat(e.buf, *(*float64)(p), 64)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		e.buf = appendUint(e.buf, loadUint(k, p))
	default:
		e.buf = appendInt(e.buf, loadInt(k, p))
	}
}

// quantity writes a Quantity. It takes a copy: String caches into its
// receiver, which must not be the caller's object (rendering only reads,
// and may run concurrently).
func (e *encoder) quantity(q resource.Quantity) {
	e.scalarSep()
	e.buf = appendString(e.buf, q.String())
}

// intOrString writes an IntOrString as the number or the string it holds.
func (e *encoder) intOrString(is *intstr.IntOrString) {
	e.scalarSep()
	if is.Type == intstr.Int {
		e.buf = appendInt(e.buf, int64(is.IntVal))
	} else {
		e.str(is.StrVal)
	}
}

// boolean appends true or false.
func (e *encoder) boolean(b bool) {
	if b {
		e.buf = append(e.buf, "true"...)
	} else {
		e.buf = append(e.buf, "false"...)
	}
}

// scalarZero reports whether the Go scalar of kind k at p is its zero.
func scalarZero(k reflect.Kind, p unsafe.Pointer) bool {
	switch k {
	case reflect.String:
		return len(*(*string)(p)) == 0
	case reflect.Bool:
		return !*(*bool)(p)
	case reflect.Float32:
		return *(*float32)(p) == 0
	case reflect.Float64:
		return *(*float64)(p) == 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return loadUint(k, p) == 0
	}
	return loadInt(k, p) == 0
}

func loadInt(k reflect.Kind, p unsafe.Pointer) int64 {
	switch k {
	case reflect.Int:
		return int64(*(*int)(p))
	case reflect.Int8:
		return int64(*(*int8)(p))
	case reflect.Int16:
		return int64(*(*int16)(p))
	case reflect.Int32:
		return int64(*(*int32)(p))
	}
	return *(*int64)(p)
}

func loadUint(k reflect.Kind, p unsafe.Pointer) uint64 {
	switch k {
	case reflect.Uint:
		return uint64(*(*uint)(p))
	case reflect.Uint8:
		return uint64(*(*uint8)(p))
	case reflect.Uint16:
		return uint64(*(*uint16)(p))
	case reflect.Uint32:
		return uint64(*(*uint32)(p))
	case reflect.Uintptr:
		return uint64(*(*uintptr)(p))
	}
	return *(*uint64)(p)
}

type sliceHeader struct {
	data unsafe.Pointer
	len  int
	cap  int
}

// compileSlice writes a block sequence at indent-2, as listValue does.
func compileSlice(t reflect.Type) encFn {
	elem := compile(t.Elem(), modeValue)
	size := t.Elem().Size()
	return func(e *encoder, p unsafe.Pointer, indent int, _ bool) (bool, error) {
		e.dash = false
		s := (*sliceHeader)(p)
		return e.sequence(s.len, indent, func(i int) (bool, error) {
			return elem.fn(e, unsafe.Add(s.data, uintptr(i)*size), indent, true)
		})
	}
}

// compileStringKeyedMap writes a map whose keys are strings (a
// ResourceList), keys sorted, as mapValue does. The values are copied out
// into one slice, where their codec can address them.
func compileStringKeyedMap(t reflect.Type) encFn {
	elem := compile(t.Elem(), modeValue)
	sliceType := reflect.SliceOf(t.Elem())
	return func(e *encoder, p unsafe.Pointer, indent int, present bool) (bool, error) {
		mv := reflect.NewAt(t, p).Elem()
		n := mv.Len()
		if n == 0 {
			return e.emptyMap(present, !mv.IsNil()), nil
		}
		vals := reflect.MakeSlice(sliceType, n, n)
		key := reflect.New(t.Key()).Elem()
		base := len(e.entries)
		i := 0
		for it := mv.MapRange(); it.Next() && i < n; i++ {
			key.SetIterKey(it)
			v := vals.Index(i)
			v.SetIterValue(it)
			e.entries = append(e.entries, msgEntry{key.String(), v.Addr().UnsafePointer()})
		}
		return e.sortedEntries(base, indent, present, func(p unsafe.Pointer) (bool, error) { return elem.fn(e, p, indent+2, false) })
	}
}

// emptyMap writes the value of an empty map: " {}" when it is present
// (it came from a non-nil pointer or a set message) and not nil, else
// nothing, reporting whether it wrote.
func (e *encoder) emptyMap(present, notNil bool) bool {
	e.dash = false
	if present && notNil {
		e.buf = append(e.buf, " {}"...)
		return true
	}
	return false
}

var resourceListType = reflect.TypeFor[corev1.ResourceList]()

// resourceList writes a ResourceList (a container's requests and limits)
// without reflection: each quantity as the string it writes, keys sorted.
func resourceList(e *encoder, p unsafe.Pointer, indent int, present bool) (bool, error) {
	m := *(*corev1.ResourceList)(p)
	if len(m) == 0 {
		return e.emptyMap(present, m != nil), nil
	}
	base := len(e.pairs)
	for k, q := range m { // q is a copy: String caches into its receiver
		e.pairs = append(e.pairs, kv{string(k), q.String()})
	}
	return e.sortedPairs(base, indent, present)
}

// msgEntry is a map entry being written: its key, and its value's address.
type msgEntry struct {
	k string
	p unsafe.Pointer
}

// sortedEntries writes the entries from e.entries[base:] as a block map,
// keys sorted, value writing the value at p; an entry whose value writes
// nothing is left out. It takes the entries off e.entries.
func (e *encoder) sortedEntries(base, indent int, present bool, value func(p unsafe.Pointer) (bool, error)) (bool, error) {
	entries := e.entries[base:]
	defer func() { e.entries = e.entries[:base] }()
	sortByKey(entries, func(en msgEntry) string { return en.k })
	b := e.beginBlock(indent)
	for _, en := range entries {
		if err := e.entryName(&b, en.k); err != nil {
			return false, err
		}
		ok, err := value(en.p)
		if err := e.endEntry(&b, ok, en.k, err); err != nil {
			return false, err
		}
	}
	return e.endBlock(&b, present), nil
}

// cfield is a struct field of a compiled struct codec, its field's plan
// copied in so that the loop over fields follows no pointers.
type cfield struct {
	offset uintptr // from the struct, when offsets is nil
	key    []byte
	fast   reflect.Kind
	kind   reflect.Kind
	// omitEmpty, omitZero and nilable are the field's.
	omitEmpty, omitZero, nilable bool
	elem                         *codec
	// offsets, when set, locate the field from the struct: the first from
	// the struct itself, each next one from the pointer found at the
	// previous (an embedded pointer on the way).
	offsets []uintptr
	typ     reflect.Type
	name    string
}

// fieldTest is the first look a struct codec takes at a field, from a
// small array apart from the fields (most fields of the Kubernetes types
// are empty, and are left out on it alone): where the field is, and the
// test that leaves out the common empty ones.
type fieldTest struct {
	offset uint32
	test   emptyTest
}

// emptyTest leaves out a field whose emptiness one word tells: testNil
// when its first word is nil (a nil pointer, map, interface or slice, as
// isNil), testNoLen when its second is 0 (an empty omitempty string or
// slice), testZero32 when its 32 bits are 0 (an omitempty int32 or
// uint32). testNone leaves the field to the general tests, testLocate too
// after finding it through an embedded pointer.
type emptyTest uint8

const (
	testNone emptyTest = iota
	testNil
	testNoLen
	testZero32
	testLocate
)

// emptyTestOf chooses f's emptyTest.
func emptyTestOf(f *cfield) emptyTest {
	omit := f.omitEmpty || f.omitZero
	switch {
	case f.offsets != nil:
		return testLocate
	case f.fast == reflect.String && omit, f.kind == reflect.Slice && f.omitEmpty:
		return testNoLen
	case (f.fast == reflect.Int32 || f.fast == reflect.Uint32) && omit:
		return testZero32
	case f.nilable:
		return testNil
	}
	return testNone
}

// locate returns the field's address in the struct at p, or nil when a nil
// embedded pointer is on the way.
func (f *cfield) locate(p unsafe.Pointer) unsafe.Pointer {
	p = unsafe.Add(p, f.offsets[0])
	for _, off := range f.offsets[1:] {
		p = *(*unsafe.Pointer)(p)
		if p == nil {
			return nil
		}
		p = unsafe.Add(p, off)
	}
	return p
}

// isNil reports whether a pointer, map, slice or interface field is nil.
func (f *cfield) isNil(p unsafe.Pointer) bool {
	if f.kind == reflect.Slice {
		return (*sliceHeader)(p).data == nil
	}
	return *(*unsafe.Pointer)(p) == nil // a pointer, a map, an interface's type word
}

// isEmpty is isEmptyJSON for the field at p.
func (f *cfield) isEmpty(p unsafe.Pointer) bool {
	switch f.kind {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.String:
		return scalarZero(f.kind, p)
	case reflect.Slice:
		return (*sliceHeader)(p).len == 0
	case reflect.Pointer, reflect.Interface:
		return *(*unsafe.Pointer)(p) == nil
	case reflect.Map:
		switch f.typ {
		case stringMapType: // labels, annotations, selectors: without reflect
			return len(*(*map[string]string)(p)) == 0
		case resourceListType:
			return len(*(*corev1.ResourceList)(p)) == 0
		}
		return reflect.NewAt(f.typ, p).Elem().Len() == 0
	case reflect.Array:
		return reflect.NewAt(f.typ, p).Elem().Len() == 0
	}
	return false
}

func compileStruct(t reflect.Type, mode structMode) encFn {
	plan := planFor(t)
	var fields []cfield
	var tests []fieldTest // fields[i]'s at tests[i]
	for i := range plan.fields {
		f := &plan.fields[i]
		if mode.skips(f) {
			continue
		}
		cf := cfield{key: f.key, fast: f.fast, omitEmpty: f.omitEmpty, omitZero: f.omitZero, nilable: f.nilable, name: f.name}
		offsets := []uintptr{0}
		cur := t
		for j, x := range f.index {
			sf := cur.Field(x)
			offsets[len(offsets)-1] += sf.Offset
			cur = sf.Type
			if j < len(f.index)-1 && cur.Kind() == reflect.Pointer {
				cur = cur.Elem()
				offsets = append(offsets, 0)
			}
		}
		if len(offsets) == 1 {
			cf.offset = offsets[0]
		} else {
			cf.offsets = offsets
		}
		cf.typ, cf.kind = cur, cur.Kind()
		fm := modeValue
		if cf.kind == reflect.Struct {
			fm = mode.fieldMode(f)
		}
		if f.fast == reflect.Invalid {
			cf.elem = compile(cur, fm)
		}
		fields = append(fields, cf)
		tests = append(tests, fieldTest{offset: uint32(cf.offset), test: emptyTestOf(&cf)})
	}
	return func(e *encoder, p unsafe.Pointer, indent int, present bool) (bool, error) {
		b := e.beginBlock(indent)
		for i, t := range tests {
			fp := unsafe.Add(p, t.offset)
			switch t.test {
			case testNil:
				if *(*unsafe.Pointer)(fp) == nil {
					continue
				}
			case testNoLen:
				if *(*int)(unsafe.Add(fp, unsafe.Sizeof(uintptr(0)))) == 0 {
					continue
				}
			case testZero32:
				if *(*uint32)(fp) == 0 {
					continue
				}
			case testLocate:
				if fp = fields[i].locate(p); fp == nil {
					continue
				}
			}
			f := &fields[i]
			if f.fast != reflect.Invalid {
				e.fastFieldAt(&b, f.key, f.fast, f.omitEmpty || f.omitZero, fp)
				continue
			}
			if f.nilable && f.isNil(fp) {
				continue
			}
			if f.omitEmpty && f.isEmpty(fp) || f.omitZero && isZeroValue(reflect.NewAt(f.typ, fp).Elem()) {
				continue
			}
			e.entryKey(&b, f.key)
			ok, err := f.elem.fn(e, fp, indent+2, false)
			if err := e.endEntry(&b, ok, f.name, err); err != nil {
				return false, err
			}
		}
		return e.endBlock(&b, present), nil
	}
}

// fastFieldAt writes the plain scalar field of kind k at p as an entry of
// b, or nothing when omit is set (omitempty or omitzero) and it holds its
// zero value.
func (e *encoder) fastFieldAt(b *block, key []byte, k reflect.Kind, omit bool, p unsafe.Pointer) {
	if omit && scalarZero(k, p) {
		return
	}
	e.scalarEntry(b, key)
	e.appendScalar(k, p)
	e.endEntry(b, true, "", nil)
}

// objectCodec returns the codec of a whole object whose pointer type is t.
func objectCodec(t reflect.Type) *codec { return codecFor(t.Elem(), modeObject) }
