package canon

import (
	"encoding/base64"
	"fmt"
	"sort"
	"strconv"
	"sync"

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
		key := appendString(nil, fd.JSONName())
		p.fields[i] = protoField{fd: fd, key: append(key, ':')}
	}
	sort.Slice(p.fields, func(i, j int) bool { return p.fields[i].fd.JSONName() < p.fields[j].fd.JSONName() })
	actual, _ := protoPlans.LoadOrStore(md.FullName(), p)
	return actual.(*protoPlan)
}

// weightedDestinations are the messages whose weight is always written when
// they appear in a list of two or more: a reader must see a dark (weight 0)
// version, which protojson would leave out.
var weightedDestinations = map[protoreflect.FullName]bool{
	"istio.networking.v1alpha3.HTTPRouteDestination": true,
	"istio.networking.v1alpha3.RouteDestination":     true,
}

// alwaysWritten are fields written even at their zero value, because the
// zero is an enum value a reader needs to see: a ServiceEntry's location
// (MESH_EXTERNAL) and resolution (NONE).
var alwaysWritten = map[protoreflect.FullName]map[protoreflect.Name]bool{
	"istio.networking.v1alpha3.ServiceEntry": {"location": true, "resolution": true},
	// retries: {attempts: 0} turns Istio's default retries off; "retries: {}"
	// means the same but does not say so.
	"istio.networking.v1alpha3.HTTPRetry": {"attempts": true},
}

// message writes a protobuf message with protojson's field names and value
// forms. force names a field written even when it holds its zero value.
func (e *encoder) message(m protoreflect.Message, indent int, present bool, force protoreflect.Name) (bool, error) {
	md := m.Descriptor()
	if wk, ok, err := e.wellKnown(m); ok {
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
		ok, err := e.protoField(m, fd, indent+2)
		if err := e.endEntry(&b, ok, fd.JSONName(), err); err != nil {
			return false, err
		}
	}
	return e.endBlock(&b, present), nil
}

func (e *encoder) protoField(m protoreflect.Message, fd protoreflect.FieldDescriptor, indent int) (bool, error) {
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
			return e.protoScalar(fd, l.Get(i))
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
				ok, err = e.protoScalar(vd, en.v)
			}
			if err := e.endEntry(&b, ok, en.k, err); err != nil {
				return false, err
			}
		}
		return e.endBlock(&b, false), nil
	case fd.Kind() == protoreflect.MessageKind || fd.Kind() == protoreflect.GroupKind:
		return e.message(v.Message(), indent, true, "")
	}
	return e.protoScalar(fd, v)
}

// protoScalar writes a scalar as protojson does: 64-bit integers as strings,
// enums by name, bytes as base64.
func (e *encoder) protoScalar(fd protoreflect.FieldDescriptor, v protoreflect.Value) (bool, error) {
	e.scalarSep()
	switch fd.Kind() {
	case protoreflect.BoolKind:
		if v.Bool() {
			e.buf = append(e.buf, "true"...)
		} else {
			e.buf = append(e.buf, "false"...)
		}
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		e.buf = appendInt(e.buf, v.Int())
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		e.buf = appendUint(e.buf, v.Uint())
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		e.buf = append(e.buf, '"')
		e.buf = appendInt(e.buf, v.Int())
		e.buf = append(e.buf, '"')
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		e.buf = append(e.buf, '"')
		e.buf = appendUint(e.buf, v.Uint())
		e.buf = append(e.buf, '"')
	case protoreflect.FloatKind:
		e.buf = appendFloat(e.buf, v.Float(), 32)
	case protoreflect.DoubleKind:
		e.buf = appendFloat(e.buf, v.Float(), 64)
	case protoreflect.StringKind:
		e.buf = appendString(e.buf, v.String())
	case protoreflect.BytesKind:
		e.buf = appendString(e.buf, base64.StdEncoding.EncodeToString(v.Bytes()))
	case protoreflect.EnumKind:
		if ev := fd.Enum().Values().ByNumber(v.Enum()); ev != nil {
			e.buf = appendString(e.buf, string(ev.Name()))
		} else {
			e.buf = appendInt(e.buf, int64(v.Enum()))
		}
	default:
		return false, fmt.Errorf("unsupported protobuf kind %s", fd.Kind())
	}
	return true, nil
}

// wellKnown writes the well-known types in their JSON forms. It returns
// ok=false for other messages, and an error when a value has no JSON form
// (a Timestamp out of range, say): such a field is never dropped.
func (e *encoder) wellKnown(m protoreflect.Message) (wrote, ok bool, err error) {
	md := m.Descriptor()
	switch md.FullName() {
	case "google.protobuf.Duration":
		secs := m.Get(md.Fields().ByNumber(1)).Int()
		nanos := m.Get(md.Fields().ByNumber(2)).Int()
		e.scalarSep()
		e.buf = appendString(e.buf, formatDuration(secs, nanos))
		return true, true, nil
	case "google.protobuf.BoolValue", "google.protobuf.Int32Value", "google.protobuf.UInt32Value",
		"google.protobuf.Int64Value", "google.protobuf.UInt64Value", "google.protobuf.FloatValue",
		"google.protobuf.DoubleValue", "google.protobuf.StringValue", "google.protobuf.BytesValue":
		fd := md.Fields().ByNumber(1)
		w, err := e.protoScalar(fd, m.Get(fd))
		return w, true, err
	case "google.protobuf.Timestamp", "google.protobuf.Struct", "google.protobuf.Value",
		"google.protobuf.ListValue", "google.protobuf.Any", "google.protobuf.FieldMask", "google.protobuf.Empty":
		raw, err := protojson.Marshal(m.Interface())
		if err != nil {
			return false, true, fmt.Errorf("%s: %w", md.FullName(), err)
		}
		w, err := e.viaJSON(rawJSON(raw), 0, true)
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
