package render

import (
	"bytes"
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"

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
//     and a ServiceEntry its location and resolution, MESH_EXTERNAL and NONE
//     included (protojson leaves zero enum values out).
//
// Unlike a generic YAML library, nothing is parsed back: each value is
// written once, which is what makes rendering fast.

// encoder appends YAML to buf. Its methods write "key: value" lines at a
// given indent and may roll back what they wrote when a value turns out empty.
type encoder struct {
	buf []byte
}

// writeFunc writes the value v (or reports it empty) for the key written just
// before; see encoder.value.
type kindClass uint8

const (
	classScalar kindClass = iota
	classMap
	classList
	classNull
)

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
	key       []byte // the YAML key followed by ':'
	index     []int
	omitEmpty bool
	omitZero  bool
}

type structPlan struct {
	fields []field // sorted by name
}

var plans sync.Map // reflect.Type -> *structPlan

func planFor(t reflect.Type) *structPlan {
	if p, ok := plans.Load(t); ok {
		return p.(*structPlan)
	}
	p := &structPlan{fields: typeFields(t)}
	actual, _ := plans.LoadOrStore(t, p)
	return actual.(*structPlan)
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
			f.key = appendString(nil, name)
			f.key = append(f.key, ':')
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

// indent appends n spaces.
func (e *encoder) indent(n int) {
	for ; n >= 8; n -= 8 {
		e.buf = append(e.buf, "        "...)
	}
	e.buf = append(e.buf, "        "[:n]...)
}

// Every "write" method below writes one value that follows a key (or a
// list dash) already on the current line. It returns false, having written
// nothing, when the value is to be left out. A scalar continues the line;
// a map or list ends it and writes its entries at indent.

// value writes a Go value. present says that an empty map should still be
// written (it came from a non-nil pointer or a set message).
func (e *encoder) value(v reflect.Value, indent int, present bool) (bool, error) {
	for v.Kind() == reflect.Interface || v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return false, nil
		}
		if v.Kind() == reflect.Pointer {
			if v.Type().Implements(protoMessageType) {
				return e.message(v.Interface().(proto.Message).ProtoReflect(), indent, true, "")
			}
			present = true
		}
		v = v.Elem()
	}
	t := v.Type()
	switch t {
	case quantityType:
		q := v.Interface().(resource.Quantity)
		e.scalarSep()
		e.buf = appendString(e.buf, q.String())
		return true, nil
	case intOrStringType:
		is := v.Interface().(intstr.IntOrString)
		e.scalarSep()
		if is.Type == intstr.Int {
			e.buf = appendInt(e.buf, int64(is.IntVal))
		} else {
			e.buf = appendString(e.buf, is.StrVal)
		}
		return true, nil
	case timeType:
		tm := v.Interface().(metav1.Time)
		if tm.IsZero() {
			return false, nil
		}
		e.scalarSep()
		e.buf = appendString(e.buf, tm.UTC().Format("2006-01-02T15:04:05Z07:00"))
		return true, nil
	case microTimeType:
		tm := v.Interface().(metav1.MicroTime)
		if tm.IsZero() {
			return false, nil
		}
		e.scalarSep()
		e.buf = appendString(e.buf, tm.UTC().Format("2006-01-02T15:04:05.000000Z07:00"))
		return true, nil
	case durationType:
		e.scalarSep()
		e.buf = appendString(e.buf, v.Interface().(metav1.Duration).Duration.String())
		return true, nil
	}
	if v.CanAddr() && reflect.PointerTo(t).Implements(protoMessageType) {
		return e.message(v.Addr().Interface().(proto.Message).ProtoReflect(), indent, present, "")
	}
	if t.Kind() != reflect.Struct || t.Implements(jsonMarshalerType) || reflect.PointerTo(t).Implements(jsonMarshalerType) {
		if m, ok := marshaler(v); ok {
			return e.viaJSON(m, indent, present)
		}
	}
	switch v.Kind() {
	case reflect.Struct:
		return e.structValue(v, indent, present, 0)
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
	case reflect.String:
		e.scalarSep()
		e.buf = appendString(e.buf, v.String())
	case reflect.Bool:
		e.scalarSep()
		if v.Bool() {
			e.buf = append(e.buf, "true"...)
		} else {
			e.buf = append(e.buf, "false"...)
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		e.scalarSep()
		e.buf = appendInt(e.buf, v.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		e.scalarSep()
		e.buf = appendUint(e.buf, v.Uint())
	case reflect.Float32:
		e.scalarSep()
		e.buf = appendFloat(e.buf, v.Float(), 32)
	case reflect.Float64:
		e.scalarSep()
		e.buf = appendFloat(e.buf, v.Float(), 64)
	default:
		return false, fmt.Errorf("cannot render a value of type %s", t)
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
		mark := len(e.buf)
		e.buf = append(e.buf, '\n')
		wrote := false
		for _, k := range keys {
			m := len(e.buf)
			e.indent(indent)
			if err := e.key(k); err != nil {
				return false, err
			}
			ok, err := e.generic(g[k], indent+2, false)
			if err != nil {
				return false, err
			}
			if !ok {
				e.buf = e.buf[:m]
				continue
			}
			e.endLine()
			wrote = true
		}
		return e.finishMap(mark, wrote, present), nil
	case []any:
		if len(g) == 0 {
			return false, nil
		}
		e.buf = append(e.buf, '\n')
		for _, item := range g {
			e.indent(indent - 2)
			e.buf = append(e.buf, '-')
			ok, err := e.generic(item, indent, true)
			if err != nil {
				return false, err
			}
			if !ok {
				e.buf = append(e.buf, " null"...)
			}
			e.endLine()
		}
		e.trimNewline()
		return true, nil
	case string:
		e.scalarSep()
		e.buf = appendString(e.buf, g)
	case json.Number:
		e.scalarSep()
		e.buf = append(e.buf, g.String()...)
	case bool:
		e.scalarSep()
		if g {
			e.buf = append(e.buf, "true"...)
		} else {
			e.buf = append(e.buf, "false"...)
		}
	default:
		return false, fmt.Errorf("cannot render JSON value of type %T", g)
	}
	return true, nil
}

// maxKey is the longest implicit key YAML allows, in characters; a longer
// one would need the explicit "? " form, which no Kubernetes field needs.
const maxKey = 1024

// key writes a map key and its colon.
func (e *encoder) key(k string) error {
	start := len(e.buf)
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

// finishMap closes a block map begun at mark (where a '\n' was written). An
// empty map is dropped, or written as " {}" when present.
func (e *encoder) finishMap(mark int, wrote, present bool) bool {
	if wrote {
		e.trimNewline()
		return true
	}
	e.buf = e.buf[:mark]
	if present {
		e.buf = append(e.buf, " {}"...)
		return true
	}
	return false
}

// depth 0 is a whole object: its status and server-populated metadata are
// left out. depth 1 marks metadata.
func (e *encoder) structValue(v reflect.Value, indent int, present bool, depth int) (bool, error) {
	plan := planFor(v.Type())
	mark := len(e.buf)
	e.buf = append(e.buf, '\n')
	wrote := false
	for i := range plan.fields {
		f := &plan.fields[i]
		if depth == 0 && f.name == "status" {
			continue
		}
		if depth == 2 && serverMetadata[f.name] {
			continue
		}
		fv, ok := fieldByIndex(v, f.index)
		if !ok {
			continue
		}
		if f.omitEmpty && isEmptyJSON(fv) || f.omitZero && isZeroValue(fv) {
			continue
		}
		m := len(e.buf)
		e.indent(indent)
		e.buf = append(e.buf, f.key...)
		var wroteField bool
		var err error
		if depth == 0 && f.name == "metadata" && fv.Kind() == reflect.Struct {
			wroteField, err = e.structValue(fv, indent+2, false, 2)
		} else {
			wroteField, err = e.value(fv, indent+2, false)
		}
		if err != nil {
			return false, fmt.Errorf("%s: %w", f.name, err)
		}
		if !wroteField {
			e.buf = e.buf[:m]
			continue
		}
		e.endLine()
		wrote = true
	}
	return e.finishMap(mark, wrote, present), nil
}

// serverMetadata are the metadata fields the API server fills in; they are
// not part of a manifest.
var serverMetadata = map[string]bool{
	"creationTimestamp": true, "deletionGracePeriodSeconds": true, "deletionTimestamp": true,
	"generation": true, "managedFields": true, "resourceVersion": true, "selfLink": true, "uid": true,
}

func (e *encoder) mapValue(v reflect.Value, indent int, present bool) (bool, error) {
	if v.Len() == 0 {
		if present && !v.IsNil() {
			e.buf = append(e.buf, " {}"...)
			return true, nil
		}
		return false, nil
	}
	keys := v.MapKeys()
	names := make([]string, len(keys))
	for i, k := range keys {
		if k.Kind() == reflect.String {
			names[i] = k.String()
		} else {
			names[i] = fmt.Sprint(k.Interface())
		}
	}
	idx := make([]int, len(keys))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return names[idx[a]] < names[idx[b]] })
	mark := len(e.buf)
	e.buf = append(e.buf, '\n')
	wrote := false
	for _, i := range idx {
		m := len(e.buf)
		e.indent(indent)
		if err := e.key(names[i]); err != nil {
			return false, err
		}
		ok, err := e.value(v.MapIndex(keys[i]), indent+2, false)
		if err != nil {
			return false, fmt.Errorf("%s: %w", names[i], err)
		}
		if !ok {
			e.buf = e.buf[:m]
			continue
		}
		e.endLine()
		wrote = true
	}
	return e.finishMap(mark, wrote, present), nil
}

// listValue writes a block sequence at indent-2 (lists sit at their key's
// indent). A nil element is written as null so that positions are kept.
func (e *encoder) listValue(v reflect.Value, indent int) (bool, error) {
	n := v.Len()
	if n == 0 {
		return false, nil
	}
	e.buf = append(e.buf, '\n')
	for i := 0; i < n; i++ {
		e.indent(indent - 2)
		e.buf = append(e.buf, '-')
		ok, err := e.itemValue(v.Index(i), indent)
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

// itemValue writes a list element after its dash: a map's first entry goes
// on the dash's line.
func (e *encoder) itemValue(v reflect.Value, indent int) (bool, error) {
	mark := len(e.buf)
	ok, err := e.value(v, indent, true)
	if err != nil || !ok {
		return ok, err
	}
	e.hoistFirstEntry(mark, indent)
	return true, nil
}

// hoistFirstEntry turns "-\n<indent>key: v" into "- key: v" for a map item
// written at mark.
func (e *encoder) hoistFirstEntry(mark, indent int) {
	if len(e.buf) > mark+1+indent && e.buf[mark] == '\n' {
		// Remove the newline and the indent of the first entry, leaving one space.
		copy(e.buf[mark+1:], e.buf[mark+1+indent:])
		e.buf = e.buf[:len(e.buf)-indent]
		e.buf[mark] = ' '
	}
}
