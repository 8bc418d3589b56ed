package canon

import (
	"fmt"
	"sort"
	"strconv"
	"sync"
	"unsafe"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// protoPlan is a message's fields in canonical (JSON name) order.
type protoPlan struct {
	fields []protoField
}

type protoField struct {
	fd  protoreflect.FieldDescriptor
	key []byte
	// scalar says how a scalar field (or list element) is written, value
	// how a map's values are.
	scalar, value scalarDesc
}

var protoPlans sync.Map // protoreflect.FullName -> *protoPlan

func protoPlanFor(md protoreflect.MessageDescriptor) *protoPlan {
	if p, ok := protoPlans.Load(md.FullName()); ok {
		return p.(*protoPlan)
	}
	fds := md.Fields()
	p := &protoPlan{fields: make([]protoField, fds.Len())}
	for i := 0; i < fds.Len(); i++ {
		fd := fds.Get(i)
		p.fields[i] = protoField{fd: fd, key: paddedKey(fd.JSONName()), scalar: scalarOf(fd)}
		if fd.IsMap() {
			p.fields[i].value = scalarOf(fd.MapValue())
		}
	}
	sort.Slice(p.fields, func(i, j int) bool { return p.fields[i].fd.JSONName() < p.fields[j].fd.JSONName() })
	actual, _ := protoPlans.LoadOrStore(md.FullName(), p)
	return actual.(*protoPlan)
}

// message writes a protobuf message with protojson's field names and value
// forms. force names a field written even when it holds its zero value.
func (e *encoder) message(m protoreflect.Message, indent int, present bool, force protoreflect.Name) (bool, error) {
	md := m.Descriptor()
	if wk, ok, err := e.wellKnown(m, indent, present); ok {
		return wk, err
	}
	plan := protoPlanFor(md)
	always := alwaysWritten[md.FullName()]
	b := e.beginBlock(indent)
	for i := range plan.fields {
		pf := &plan.fields[i]
		fd := pf.fd
		has := m.Has(fd)
		if !has && !(force != "" && fd.Name() == force) && !always[fd.Name()] {
			continue
		}
		e.entryKey(&b, pf.key)
		ok, err := e.protoField(m, pf, indent+2)
		if err := e.endEntry(&b, ok, fd.JSONName(), err); err != nil {
			return false, err
		}
	}
	return e.endBlock(&b, present), nil
}

func (e *encoder) protoField(m protoreflect.Message, pf *protoField, indent int) (bool, error) {
	fd := pf.fd
	v := m.Get(fd)
	switch {
	case fd.IsList():
		l := v.List()
		if l.Len() == 0 {
			return false, nil
		}
		var force protoreflect.Name
		if fd.Kind() == protoreflect.MessageKind && l.Len() > 1 && weightedDestinations[fd.Message().FullName()] {
			force = "weight"
		}
		return e.sequence(l.Len(), indent, func(i int) (bool, error) {
			if fd.Kind() == protoreflect.MessageKind || fd.Kind() == protoreflect.GroupKind {
				return e.message(l.Get(i).Message(), indent, true, force)
			}
			return e.protoScalar(&pf.scalar, l.Get(i))
		})
	case fd.IsMap():
		mp := v.Map()
		if mp.Len() == 0 {
			return false, nil
		}
		type entry struct {
			k string
			v protoreflect.Value
		}
		entries := make([]entry, 0, mp.Len())
		mp.Range(func(k protoreflect.MapKey, v protoreflect.Value) bool {
			entries = append(entries, entry{k.String(), v})
			return true
		})
		sort.Slice(entries, func(i, j int) bool { return entries[i].k < entries[j].k })
		vd := fd.MapValue()
		b := e.beginBlock(indent)
		for _, en := range entries {
			if err := e.entryName(&b, en.k); err != nil {
				return false, err
			}
			var ok bool
			var err error
			if vd.Kind() == protoreflect.MessageKind {
				ok, err = e.message(en.v.Message(), indent+2, true, "")
			} else {
				ok, err = e.protoScalar(&pf.value, en.v)
			}
			if err := e.endEntry(&b, ok, en.k, err); err != nil {
				return false, err
			}
		}
		return e.endBlock(&b, false), nil
	case fd.Kind() == protoreflect.MessageKind || fd.Kind() == protoreflect.GroupKind:
		return e.message(v.Message(), indent, true, "")
	}
	return e.protoScalar(&pf.scalar, v)
}

// protoScalar writes a scalar that protoreflect holds, as protoScalarAt
// writes one stored in a generated struct: it loads v into a Go value of the
// field's type and hands protoScalarAt its address.
func (e *encoder) protoScalar(s *scalarDesc, v protoreflect.Value) (bool, error) {
	var p unsafe.Pointer
	switch s.kind {
	case protoreflect.BoolKind:
		x := v.Bool()
		p = unsafe.Pointer(&x)
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		x := int32(v.Int())
		p = unsafe.Pointer(&x)
	case protoreflect.EnumKind:
		x := int32(v.Enum())
		p = unsafe.Pointer(&x)
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		x := uint32(v.Uint())
		p = unsafe.Pointer(&x)
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		x := v.Int()
		p = unsafe.Pointer(&x)
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		x := v.Uint()
		p = unsafe.Pointer(&x)
	case protoreflect.FloatKind:
		x := float32(v.Float())
		p = unsafe.Pointer(&x)
	case protoreflect.DoubleKind:
		x := v.Float()
		p = unsafe.Pointer(&x)
	case protoreflect.StringKind:
		x := v.String()
		p = unsafe.Pointer(&x)
	case protoreflect.BytesKind:
		x := v.Bytes()
		p = unsafe.Pointer(&x)
	default:
		return false, fmt.Errorf("unsupported protobuf kind %s", s.kind)
	}
	e.scalarSep()
	return true, e.protoScalarAt(s, p)
}

// wellKnown writes the well-known types in their JSON forms, a Struct's
// or a Value's fields at indent like a message's. It returns ok=false for
// other messages, and an error when a value has no JSON form (a Timestamp
// out of range, say): such a field is never dropped.
func (e *encoder) wellKnown(m protoreflect.Message, indent int, present bool) (wrote, ok bool, err error) {
	md := m.Descriptor()
	switch wellKnownTypes[md.FullName()] {
	case wkDuration:
		secs := m.Get(md.Fields().ByNumber(1)).Int()
		nanos := m.Get(md.Fields().ByNumber(2)).Int()
		e.scalarSep()
		e.buf = appendString(e.buf, formatDuration(secs, nanos))
		return true, true, nil
	case wkWrapper:
		fd := md.Fields().ByNumber(1)
		s := scalarOf(fd)
		w, err := e.protoScalar(&s, m.Get(fd))
		return w, true, err
	case wkJSON:
		raw, err := protojson.Marshal(m.Interface())
		if err != nil {
			return false, true, fmt.Errorf("%s: %w", md.FullName(), err)
		}
		w, err := e.viaJSON(rawJSON(raw), indent, present)
		return w, true, err
	}
	return false, false, nil
}

type rawJSON []byte

func (r rawJSON) MarshalJSON() ([]byte, error) { return r, nil }

// formatDuration formats as protojson does: seconds with 0, 3, 6 or 9
// fractional digits and an "s" suffix.
func formatDuration(secs, nanos int64) string {
	sign := ""
	if secs < 0 || nanos < 0 {
		sign, secs, nanos = "-", -secs, -nanos
	}
	s := sign + strconv.FormatInt(secs, 10)
	if nanos != 0 {
		frac := fmt.Sprintf("%09d", nanos)
		switch {
		case frac[3:] == "000000":
			frac = frac[:3]
		case frac[6:] == "000":
			frac = frac[:6]
		}
		s += "." + frac
	}
	return s + "s"
}
