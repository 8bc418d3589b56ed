package canon

import (
	"encoding/base64"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"sync/atomic"
	"unsafe"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Compiled codecs for protobuf messages (Istio's specs), the counterpart of
// codec.go for the generated Go structs of protoc-gen-go: each field of the
// descriptor is found in the struct by its field number (or its oneof), and
// written as message() in proto.go writes it, protojson's names and forms
// with mlmesh's canonical rules, without protoreflect's per-field calls.
// Messages whose Go type is not a generated struct, and maps other than
// string to string or to a message, go through proto.go.

type msgCodec struct {
	typ    reflect.Type // the message's struct type
	wk     wellKnownKind
	fields []mfield
	// well-known types
	secs, nanos uintptr // Duration
	wrapped     scalarDesc
	wrappedAt   uintptr // the value field of a wrapper
}

type fieldCard uint8

const (
	cardSingular fieldCard = iota
	cardList
	cardMap
)

// scalarDesc says how to write a scalar field's Go value.
type scalarDesc struct {
	kind  protoreflect.Kind
	enums map[int32]string // enum value names
}

type mfield struct {
	fd     protoreflect.FieldDescriptor
	key    []byte      // JSON name and ':'
	name   string      // JSON name, for errors
	plan   *protoField // the field in the reflective path's plan
	card   fieldCard
	offset uintptr
	goType reflect.Type // the struct field's type (the value's, for a oneof member)
	scalar scalarDesc
	// pointer is set for a scalar with explicit presence (a *T field).
	pointer bool
	// A oneof member: an interface field at offset holding a *wrapper whose
	// value is at inner. typeWord is the interface's first word when it
	// holds a *wrapper: its itab, one per interface and dynamic type (Go's
	// == on interfaces compares these words first, so the runtime keeps
	// them unique).
	oneof    bool
	inner    uintptr
	typeWord unsafe.Pointer
	// always is set for fields written even at their zero value, weight for
	// the field a weighted list forces, weighted for a list of messages
	// whose weights are forced when it holds two or more.
	always, weight, weighted bool
	msg                      *msgCodec // the message, or a map's message value
	elemSize                 uintptr   // a list's element size
	mapKind                  mapKind
}

type mapKind uint8

const (
	mapReflect  mapKind = iota // written by proto.go
	mapStrings                 // map[string]string
	mapMessages                // map[string]*Msg
)

var (
	msgCodecs   atomic.Pointer[map[reflect.Type]*msgCodec]
	msgBuilding map[reflect.Type]*msgCodec // under codecsMu
)

// messageCodecFor returns the codec of the message whose struct type is t.
// It is called while codecs compile, with codecsMu held.
func messageCodecFor(t reflect.Type) *msgCodec {
	if m := msgCodecs.Load(); m != nil {
		if c, ok := (*m)[t]; ok {
			return c
		}
	}
	if c, ok := msgBuilding[t]; ok {
		return c
	}
	top := msgBuilding == nil
	if top {
		msgBuilding = map[reflect.Type]*msgCodec{}
	}
	c := &msgCodec{typ: t}
	msgBuilding[t] = c
	if !c.compile() {
		*c = msgCodec{typ: t, wk: wkReflect}
	}
	if top {
		old := msgCodecs.Load()
		next := make(map[reflect.Type]*msgCodec, len(msgBuilding))
		if old != nil {
			for k, v := range *old {
				next[k] = v
			}
		}
		for k, v := range msgBuilding {
			next[k] = v
		}
		msgCodecs.Store(&next)
		msgBuilding = nil
	}
	return c
}

// protoNumber returns the field number of a protobuf struct tag.
func protoNumber(tag string) (int, bool) {
	parts := strings.Split(tag, ",")
	if len(parts) < 2 {
		return 0, false
	}
	n, err := strconv.Atoi(parts[1])
	return n, err == nil
}

// goKindFits reports whether a Go type holds a protobuf scalar of kind k as
// protoc-gen-go generates it.
func goKindFits(k protoreflect.Kind, t reflect.Type) bool {
	switch k {
	case protoreflect.BoolKind:
		return t.Kind() == reflect.Bool
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind, protoreflect.EnumKind:
		return t.Kind() == reflect.Int32
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return t.Kind() == reflect.Uint32
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return t.Kind() == reflect.Int64
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return t.Kind() == reflect.Uint64
	case protoreflect.FloatKind:
		return t.Kind() == reflect.Float32
	case protoreflect.DoubleKind:
		return t.Kind() == reflect.Float64
	case protoreflect.StringKind:
		return t.Kind() == reflect.String
	case protoreflect.BytesKind:
		return t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8
	}
	return false
}

func scalarOf(fd protoreflect.FieldDescriptor) scalarDesc {
	s := scalarDesc{kind: fd.Kind()}
	if fd.Kind() == protoreflect.EnumKind {
		vals := fd.Enum().Values()
		s.enums = make(map[int32]string, vals.Len())
		for i := 0; i < vals.Len(); i++ {
			v := vals.Get(i)
			if _, dup := s.enums[int32(v.Number())]; !dup { // an alias keeps the first name, as ByNumber
				s.enums[int32(v.Number())] = string(v.Name())
			}
		}
	}
	return s
}

// isMessage reports whether a field holds messages.
func isMessage(fd protoreflect.FieldDescriptor) bool {
	return fd.Kind() == protoreflect.MessageKind || fd.Kind() == protoreflect.GroupKind
}

// compile fills in the codec from the descriptor and the struct; it returns
// false when the struct is not what protoc-gen-go generates.
func (c *msgCodec) compile() bool {
	t := c.typ
	if t.Kind() != reflect.Struct {
		return false
	}
	pm, ok := reflect.New(t).Interface().(proto.Message)
	if !ok {
		return false
	}
	md := pm.ProtoReflect().Descriptor()
	byNumber := map[int]reflect.StructField{}
	byOneof := map[string]reflect.StructField{}
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		if n, ok := protoNumber(sf.Tag.Get("protobuf")); ok {
			byNumber[n] = sf
		}
		if o := sf.Tag.Get("protobuf_oneof"); o != "" {
			byOneof[o] = sf
		}
	}
	switch wellKnownTypes[md.FullName()] {
	case wkDuration:
		s, ok1 := byNumber[1]
		n, ok2 := byNumber[2]
		if !ok1 || !ok2 || s.Type.Kind() != reflect.Int64 || n.Type.Kind() != reflect.Int32 {
			return false
		}
		c.wk, c.secs, c.nanos = wkDuration, s.Offset, n.Offset
		return true
	case wkWrapper:
		fd := md.Fields().ByNumber(1)
		v, ok := byNumber[1]
		if fd == nil || !ok || !goKindFits(fd.Kind(), v.Type) {
			return false
		}
		c.wk, c.wrapped, c.wrappedAt = wkWrapper, scalarOf(fd), v.Offset
		return true
	}
	if md.FullName().Parent() == "google.protobuf" {
		c.wk = wkReflect // Timestamp, Struct, Any...: protojson's forms, via proto.go
		return true
	}
	return c.compileFields(md, byNumber, byOneof)
}

// compileFields compiles a generated message's fields.
func (c *msgCodec) compileFields(md protoreflect.MessageDescriptor, byNumber map[int]reflect.StructField, byOneof map[string]reflect.StructField) bool {
	t := c.typ
	plan := protoPlanFor(md)
	always := alwaysWritten[md.FullName()]
	c.fields = make([]mfield, 0, len(plan.fields))
	for i := range plan.fields {
		fd := plan.fields[i].fd
		f := mfield{fd: fd, key: plan.fields[i].key, name: fd.JSONName(), plan: &plan.fields[i], always: always[fd.Name()], weight: fd.Name() == "weight"}
		if od := fd.ContainingOneof(); od != nil && !od.IsSynthetic() {
			sf, ok := byOneof[string(od.Name())]
			if !ok {
				return false
			}
			// The wrapper type: set the member on a fresh message and look.
			inst := reflect.New(t)
			m := inst.Interface().(proto.Message).ProtoReflect()
			m.Set(fd, m.NewField(fd))
			iv := inst.Elem().FieldByIndex(sf.Index)
			if iv.Kind() != reflect.Interface || iv.IsNil() || iv.Elem().Kind() != reflect.Pointer {
				return false
			}
			w := iv.Elem().Type()
			inner, ok := innerField(w.Elem(), int(fd.Number()))
			if !ok {
				return false
			}
			f.oneof, f.offset, f.inner, f.goType = true, sf.Offset, inner.Offset, inner.Type
			f.typeWord = (*iface)(iv.Addr().UnsafePointer()).typeWord
		} else {
			sf, ok := byNumber[int(fd.Number())]
			if !ok {
				return false
			}
			f.offset, f.goType = sf.Offset, sf.Type
		}
		if !f.compileValue() {
			return false
		}
		c.fields = append(c.fields, f)
	}
	return true
}

// innerField finds the field of a oneof wrapper struct.
func innerField(w reflect.Type, number int) (reflect.StructField, bool) {
	if w.Kind() != reflect.Struct {
		return reflect.StructField{}, false
	}
	for i := 0; i < w.NumField(); i++ {
		if n, ok := protoNumber(w.Field(i).Tag.Get("protobuf")); ok && n == number {
			return w.Field(i), true
		}
	}
	return reflect.StructField{}, false
}

// compileValue checks the field's Go type against its descriptor and fills
// in how to write it.
func (f *mfield) compileValue() bool {
	fd, gt := f.fd, f.goType
	switch {
	case fd.IsMap():
		f.card = cardMap
		if gt.Kind() != reflect.Map || gt.Key().Kind() != reflect.String || fd.MapKey().Kind() != protoreflect.StringKind {
			return true // mapReflect
		}
		vd := fd.MapValue()
		switch {
		case gt == stringMapType && vd.Kind() == protoreflect.StringKind:
			f.mapKind = mapStrings
		case vd.Kind() == protoreflect.MessageKind && gt.Elem().Kind() == reflect.Pointer:
			f.mapKind, f.msg = mapMessages, messageCodecFor(gt.Elem().Elem())
		}
		return true
	case fd.IsList():
		f.card = cardList
		if gt.Kind() != reflect.Slice {
			return false
		}
		et := gt.Elem()
		f.elemSize = et.Size()
		if isMessage(fd) {
			if et.Kind() != reflect.Pointer {
				return false
			}
			f.msg = messageCodecFor(et.Elem())
			f.weighted = weightedDestinations[fd.Message().FullName()]
			return true
		}
		f.scalar = f.plan.scalar
		return goKindFits(fd.Kind(), et)
	case isMessage(fd):
		if gt.Kind() != reflect.Pointer {
			return false
		}
		f.msg = messageCodecFor(gt.Elem())
		return true
	}
	f.scalar = f.plan.scalar
	if gt.Kind() == reflect.Pointer && !f.oneof {
		f.pointer = true
		gt = gt.Elem()
	}
	return goKindFits(fd.Kind(), gt)
}

// iface is the layout of an interface value.
type iface struct{ typeWord, data unsafe.Pointer }

// find returns where the field's value is in the message at p (nil for a
// nil message or an unset oneof member) and whether the message has it, as
// protoreflect's Has.
func (f *mfield) find(p unsafe.Pointer) (unsafe.Pointer, bool) {
	if p == nil {
		return nil, false
	}
	fp := unsafe.Add(p, f.offset)
	if f.oneof {
		iv := (*iface)(fp)
		if iv.typeWord != f.typeWord || iv.data == nil {
			return nil, false // unset, another member, or a nil *wrapper
		}
		return unsafe.Add(iv.data, f.inner), true
	}
	switch f.card {
	case cardList:
		return fp, (*sliceHeader)(fp).len > 0
	case cardMap:
		return fp, *(*unsafe.Pointer)(fp) != nil && reflect.NewAt(f.goType, fp).Elem().Len() > 0
	}
	if f.msg != nil || f.pointer {
		return fp, *(*unsafe.Pointer)(fp) != nil
	}
	return fp, !protoScalarZero(f.scalar.kind, fp)
}

// protoScalarZero reports whether a proto3 scalar without presence holds its zero
// value (which protoreflect reports as not set; -0.0 is set).
func protoScalarZero(k protoreflect.Kind, p unsafe.Pointer) bool {
	switch k {
	case protoreflect.BoolKind:
		return !*(*bool)(p)
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind, protoreflect.EnumKind:
		return *(*int32)(p) == 0
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return *(*uint32)(p) == 0
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return *(*int64)(p) == 0
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return *(*uint64)(p) == 0
	case protoreflect.FloatKind:
		return math.Float64bits(float64(*(*float32)(p))) == 0
	case protoreflect.DoubleKind:
		return math.Float64bits(*(*float64)(p)) == 0
	case protoreflect.StringKind:
		return len(*(*string)(p)) == 0
	case protoreflect.BytesKind:
		return len(*(*[]byte)(p)) == 0
	}
	return true
}

// zeroScalar stands in for a forced field that is not set.
var zeroScalar [32]byte

// reflectMessage returns protoreflect's view of the message at p.
func (c *msgCodec) reflectMessage(p unsafe.Pointer) protoreflect.Message {
	return reflect.NewAt(c.typ, p).Interface().(proto.Message).ProtoReflect()
}

// encode writes the message at p (nil for a nil message), as message() does.
// forceWeight writes its weight even when zero.
func (c *msgCodec) encode(e *encoder, p unsafe.Pointer, indent int, present, forceWeight bool) (bool, error) {
	switch c.wk {
	case wkDuration:
		var secs int64
		var nanos int32
		if p != nil {
			secs, nanos = *(*int64)(unsafe.Add(p, c.secs)), *(*int32)(unsafe.Add(p, c.nanos))
		}
		e.scalarSep()
		e.buf = appendString(e.buf, formatDuration(secs, int64(nanos)))
		return true, nil
	case wkWrapper:
		v := unsafe.Pointer(&zeroScalar)
		if p != nil {
			v = unsafe.Add(p, c.wrappedAt)
		}
		e.scalarSep()
		return true, e.protoScalarAt(&c.wrapped, v)
	case wkReflect:
		var force protoreflect.Name
		if forceWeight {
			force = "weight"
		}
		return e.message(c.reflectMessage(p), indent, present, force)
	}
	b := e.beginBlock(indent)
	for i := range c.fields {
		f := &c.fields[i]
		fp, has := f.find(p)
		if !has && !f.always && !(forceWeight && f.weight) {
			continue
		}
		e.entryKey(&b, f.key)
		ok, err := c.field(e, f, p, fp, indent+2)
		if err := e.endEntry(&b, ok, f.name, err); err != nil {
			return false, err
		}
	}
	return e.endBlock(&b, present), nil
}

// field writes the value of field f, found at fp (nil when not set), of the
// message at p.
func (c *msgCodec) field(e *encoder, f *mfield, p, fp unsafe.Pointer, indent int) (bool, error) {
	switch f.card {
	case cardList:
		if fp == nil {
			return false, nil
		}
		s := (*sliceHeader)(fp)
		if s.len == 0 {
			return false, nil
		}
		force := f.weighted && s.len > 1
		return e.sequence(s.len, indent, func(i int) (bool, error) {
			at := unsafe.Add(s.data, uintptr(i)*f.elemSize)
			if f.msg != nil {
				return f.msg.encode(e, *(*unsafe.Pointer)(at), indent, true, force)
			}
			e.scalarSep()
			return true, e.protoScalarAt(&f.scalar, at)
		})
	case cardMap:
		if fp == nil {
			return false, nil
		}
		switch f.mapKind {
		case mapStrings:
			m := *(*map[string]string)(fp)
			if len(m) == 0 {
				return false, nil
			}
			return e.stringMap(m, indent, false)
		case mapMessages:
			return e.messageMap(f, fp, indent)
		}
		return e.protoField(c.reflectMessage(p), f.plan, indent)
	}
	if f.msg != nil {
		var q unsafe.Pointer
		if fp != nil {
			q = *(*unsafe.Pointer)(fp)
		}
		return f.msg.encode(e, q, indent, true, false)
	}
	if f.pointer && fp != nil {
		fp = *(*unsafe.Pointer)(fp)
	}
	if fp == nil {
		fp = unsafe.Pointer(&zeroScalar)
	}
	e.scalarSep()
	return true, e.protoScalarAt(&f.scalar, fp)
}

// messageMap writes a map from strings to messages, keys sorted.
func (e *encoder) messageMap(f *mfield, fp unsafe.Pointer, indent int) (bool, error) {
	mv := reflect.NewAt(f.goType, fp).Elem()
	if mv.Len() == 0 {
		return false, nil
	}
	key := reflect.New(f.goType.Key()).Elem()
	base := len(e.entries)
	for it := mv.MapRange(); it.Next(); {
		key.SetIterKey(it)
		e.entries = append(e.entries, msgEntry{key.String(), it.Value().UnsafePointer()})
	}
	return e.sortedEntries(base, indent, false, func(p unsafe.Pointer) (bool, error) { return f.msg.encode(e, p, indent+2, true, false) })
}

// protoScalarAt writes the scalar stored at p as protoScalar does.
func (e *encoder) protoScalarAt(s *scalarDesc, p unsafe.Pointer) error {
	switch s.kind {
	case protoreflect.BoolKind:
		e.boolean(*(*bool)(p))
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		e.buf = appendInt(e.buf, int64(*(*int32)(p)))
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		e.buf = appendUint(e.buf, uint64(*(*uint32)(p)))
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		e.buf = append(e.buf, '"')
		e.buf = appendInt(e.buf, *(*int64)(p))
		e.buf = append(e.buf, '"')
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		e.buf = append(e.buf, '"')
		e.buf = appendUint(e.buf, *(*uint64)(p))
		e.buf = append(e.buf, '"')
	case protoreflect.FloatKind:
		e.buf = appendFloat(e.buf, float64(*(*float32)(p)), 32)
	case protoreflect.DoubleKind:
		e.buf = appendFloat(e.buf, *(*float64)(p), 64)
	case protoreflect.StringKind:
		e.str(*(*string)(p))
	case protoreflect.BytesKind:
		e.buf = appendString(e.buf, base64.StdEncoding.EncodeToString(*(*[]byte)(p)))
	case protoreflect.EnumKind:
		n := *(*int32)(p)
		if name, ok := s.enums[n]; ok {
			e.str(name)
		} else {
			e.buf = appendInt(e.buf, int64(n))
		}
	default:
		return fmt.Errorf("unsupported protobuf kind %s", s.kind)
	}
	return nil
}
