package canon

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"
)

// filler fills values at random: Go structs by reflection, protobuf
// messages through their descriptors, with the strings and numbers that
// an encoder gets wrong (YAML-ambiguous strings, zeros, -0, unknown enum
// numbers, empty and nil maps and lists).
type filler struct {
	r *rand.Rand
}

var fillStrings = append([]string{"", "x", "v2", "model-7"}, scalarCases...)

func (f *filler) str() string {
	if f.r.Intn(3) == 0 {
		return "s" + strconv.Itoa(f.r.Intn(100))
	}
	return fillStrings[f.r.Intn(len(fillStrings))]
}

func (f *filler) num() int64 {
	switch f.r.Intn(4) {
	case 0:
		return 0
	case 1:
		return f.r.Int63n(200) - 100
	case 2:
		return f.r.Int63()
	}
	return -f.r.Int63()
}

func (f *filler) float() float64 {
	switch f.r.Intn(5) {
	case 0:
		return 0
	case 1:
		return math.Copysign(0, -1)
	case 2:
		return float64(f.r.Intn(100))
	case 3:
		return f.r.NormFloat64() * 1e10
	}
	return f.r.Float64()
}

var quantities = []string{"0", "1", "500m", "2Gi", "1.5", "100M", "1e3", "-1", "12345678901234"}

// fill sets v (settable) to a random value, depth bounding recursion.
func (f *filler) fill(v reflect.Value, depth int) {
	t := v.Type()
	switch t {
	case quantityType:
		v.Set(reflect.ValueOf(resource.MustParse(quantities[f.r.Intn(len(quantities))])))
		return
	case intOrStringType:
		if f.r.Intn(2) == 0 {
			v.Set(reflect.ValueOf(intstr.FromInt32(int32(f.num()))))
		} else {
			v.Set(reflect.ValueOf(intstr.FromString(f.str())))
		}
		return
	case timeType:
		if f.r.Intn(2) == 0 {
			v.Set(reflect.ValueOf(metav1.Unix(f.r.Int63n(2e9), 0)))
		}
		return
	case microTimeType:
		if f.r.Intn(2) == 0 {
			v.Set(reflect.ValueOf(metav1.NewMicroTime(time.Unix(f.r.Int63n(2e9), f.r.Int63n(1e9)))))
		}
		return
	case durationType:
		v.Set(reflect.ValueOf(metav1.Duration{Duration: time.Duration(f.num())}))
		return
	}
	if reflect.PointerTo(t).Implements(protoMessageType) && t.Kind() == reflect.Struct {
		f.message(v.Addr().Interface().(proto.Message).ProtoReflect(), depth)
		return
	}
	if classOf(t) == tcMarshaler {
		return // RawExtension and friends: left zero
	}
	switch t.Kind() {
	case reflect.Pointer:
		if depth > 6 || f.r.Intn(3) == 0 {
			return
		}
		p := reflect.New(t.Elem())
		f.fill(p.Elem(), depth+1)
		v.Set(p)
	case reflect.Struct:
		for i := 0; i < t.NumField(); i++ {
			if t.Field(i).IsExported() && f.r.Intn(4) != 0 {
				f.fill(v.Field(i), depth+1)
			}
		}
	case reflect.Slice:
		if depth > 6 {
			return
		}
		n := f.r.Intn(4)
		if n == 0 && f.r.Intn(2) == 0 {
			v.Set(reflect.MakeSlice(t, 0, 0)) // empty, not nil
			return
		}
		s := reflect.MakeSlice(t, n, n)
		for i := 0; i < n; i++ {
			f.fill(s.Index(i), depth+1)
		}
		v.Set(s)
	case reflect.Map:
		if depth > 6 {
			return
		}
		n := f.r.Intn(4)
		m := reflect.MakeMapWithSize(t, n)
		for i := 0; i < n; i++ {
			k := reflect.New(t.Key()).Elem()
			f.fill(k, depth+1)
			e := reflect.New(t.Elem()).Elem()
			f.fill(e, depth+1)
			m.SetMapIndex(k, e)
		}
		if n > 0 || f.r.Intn(2) == 0 {
			v.Set(m)
		}
	case reflect.String:
		v.SetString(f.str())
	case reflect.Bool:
		v.SetBool(f.r.Intn(2) == 0)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(f.num() >> (64 - t.Bits()))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(uint64(f.num()) >> (64 - t.Bits()))
	case reflect.Float32, reflect.Float64:
		v.SetFloat(f.float())
	}
}

// message sets random fields of m: each field at most once, one member of
// each oneof, lists and maps of up to three entries.
func (f *filler) message(m protoreflect.Message, depth int) {
	fds := m.Descriptor().Fields()
	for i := 0; i < fds.Len(); i++ {
		fd := fds.Get(i)
		if f.r.Intn(3) == 0 || depth > 8 && isMessage(fd) {
			continue
		}
		switch {
		case fd.IsList():
			l := m.Mutable(fd).List()
			for n := f.r.Intn(4); n > 0; n-- {
				if isMessage(fd) {
					e := l.NewElement()
					f.message(e.Message(), depth+1)
					l.Append(e)
				} else {
					l.Append(f.scalar(fd))
				}
			}
		case fd.IsMap():
			mp := m.Mutable(fd).Map()
			for n := f.r.Intn(4); n > 0; n-- {
				k := f.scalar(fd.MapKey()).MapKey()
				if isMessage(fd.MapValue()) {
					e := mp.NewValue()
					f.message(e.Message(), depth+1)
					mp.Set(k, e)
				} else {
					mp.Set(k, f.scalar(fd.MapValue()))
				}
			}
		case isMessage(fd):
			f.message(m.Mutable(fd).Message(), depth+1)
		default:
			m.Set(fd, f.scalar(fd))
		}
	}
}

func (f *filler) scalar(fd protoreflect.FieldDescriptor) protoreflect.Value {
	switch fd.Kind() {
	case protoreflect.BoolKind:
		return protoreflect.ValueOfBool(f.r.Intn(2) == 0)
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return protoreflect.ValueOfInt32(int32(f.num() >> 32))
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return protoreflect.ValueOfUint32(uint32(f.num()))
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return protoreflect.ValueOfInt64(f.num())
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return protoreflect.ValueOfUint64(uint64(f.num()))
	case protoreflect.FloatKind:
		return protoreflect.ValueOfFloat32(float32(f.float()))
	case protoreflect.DoubleKind:
		return protoreflect.ValueOfFloat64(f.float())
	case protoreflect.StringKind:
		return protoreflect.ValueOfString(f.str())
	case protoreflect.BytesKind:
		return protoreflect.ValueOfBytes([]byte(f.str()))
	case protoreflect.EnumKind:
		vals := fd.Enum().Values()
		if f.r.Intn(5) == 0 {
			return protoreflect.ValueOfEnum(protoreflect.EnumNumber(f.r.Intn(1000) + 100)) // unknown: written as a number
		}
		return protoreflect.ValueOfEnum(vals.Get(f.r.Intn(vals.Len())).Number())
	}
	panic("filler: kind " + fd.Kind().String())
}

// TestCodecsMatchReflection holds the compiled codecs to the reflection
// path they replace on the hot path: every type render knows, filled at
// random many times, must give the same bytes (or the same error) both
// ways. MLMESH_SEED picks the seed; the default is fixed so that a failure
// reproduces.
func TestCodecsMatchReflection(t *testing.T) {
	seed := int64(20261122)
	if s := os.Getenv("MLMESH_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseInt(s, 10, 64); err != nil {
			t.Fatalf("MLMESH_SEED=%q: %v", s, err)
		}
	}
	f := &filler{r: rand.New(rand.NewSource(seed))}
	kinds := Scheme.AllKnownTypes()
	var names []string
	for gvk := range kinds {
		names = append(names, gvk.String())
	}
	sort.Strings(names)
	byName := map[string]reflect.Type{}
	for gvk, typ := range kinds {
		byName[gvk.String()] = typ
	}
	rounds := 40
	if testing.Short() {
		rounds = 5
	}
	compared, bytesCompared := 0, 0
	for _, name := range names {
		typ := byName[name]
		for round := 0; round < rounds; round++ {
			v := reflect.New(typ)
			f.fill(v.Elem(), 0)
			o, ok := v.Interface().(Object)
			if !ok {
				continue // List types and options: not objects
			}
			fast, reflective := encoder{}, encoder{reflective: true}
			errFast := fast.object(o)
			errRefl := reflective.object(o)
			if (errFast == nil) != (errRefl == nil) || errFast != nil && errFast.Error() != errRefl.Error() {
				t.Fatalf("%s round %d (seed %d): compiled error %v, reflection error %v", name, round, seed, errFast, errRefl)
			}
			if string(fast.buf) != string(reflective.buf) {
				t.Fatalf("%s round %d (seed %d): compiled and reflection paths differ:\n%s", name, round, seed,
					diffLines(string(reflective.buf), string(fast.buf)))
			}
			compared++
			bytesCompared += len(fast.buf)
		}
	}
	if compared < 100 {
		t.Fatalf("compared only %d objects", compared)
	}
	t.Logf("%d objects of %d types, %d bytes, identical both ways (seed %d)", compared, len(names), bytesCompared, seed)
}

// diffLines shows the first differing line of a and b with its neighbours,
// a's lines labelled "reflection" and b's "compiled".
func diffLines(a, b string) string { return diffLabelled(a, b, "reflection", "compiled") }

// diffLabelled is diffLines with labels of the caller's.
func diffLabelled(a, b, la, lb string) string {
	w := max(len(la), len(lb)) + 1
	al, bl := splitLines(a), splitLines(b)
	for i := 0; i < len(al) || i < len(bl); i++ {
		if i >= len(al) || i >= len(bl) || al[i] != bl[i] {
			lo := max(0, i-5)
			out := ""
			for j := lo; j < i+3; j++ {
				if j < len(al) {
					out += fmt.Sprintf("  %-*s %s\n", w, la+":", al[j])
				}
				if j < len(bl) {
					out += fmt.Sprintf("  %-*s %s\n", w, lb+":", bl[j])
				}
			}
			return out
		}
	}
	return ""
}

func splitLines(s string) []string {
	var out []string
	for len(s) > 0 {
		i := 0
		for i < len(s) && s[i] != '\n' {
			i++
		}
		out = append(out, s[:i])
		if i < len(s) {
			i++
		}
		s = s[i:]
	}
	return out
}

// widget is a custom resource whose spec holds a condition with a "status"
// field: only the object's own status is left out.
type widget struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              widgetSpec `json:"spec"`
	Status            widgetSpec `json:"status,omitempty"`
}

type widgetSpec struct {
	Wanted metav1.Condition `json:"wanted"`
}

func (w *widget) DeepCopyObject() runtime.Object { c := *w; return &c }

func TestOnlyTheObjectsStatusIsLeftOut(t *testing.T) {
	w := &widget{
		TypeMeta:   metav1.TypeMeta{APIVersion: "example.com/v1", Kind: "Widget"},
		ObjectMeta: metav1.ObjectMeta{Name: "w", ResourceVersion: "7"},
		Spec:       widgetSpec{Wanted: metav1.Condition{Type: "Ready", Status: metav1.ConditionTrue}},
		Status:     widgetSpec{Wanted: metav1.Condition{Type: "Ready", Status: metav1.ConditionFalse}},
	}
	want := "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\nspec:\n  wanted:\n    message: \"\"\n    reason: \"\"\n    status: \"True\"\n    type: Ready\n"
	for _, reflective := range []bool{false, true} {
		e := encoder{reflective: reflective}
		if err := e.object(w); err != nil {
			t.Fatal(err)
		}
		if string(e.buf) != want {
			t.Errorf("reflective=%v:\n%s\nwant\n%s", reflective, e.buf, want)
		}
	}
}

// TestRememberedQuoting: a string's quoting is remembered by the address
// of its bytes; strings met again, and strings that share a cache slot,
// keep their own, as keys and as values.
func TestRememberedQuoting(t *testing.T) {
	var e encoder
	for round := 0; round < 3; round++ {
		for _, k := range scalarCases {
			e.buf = e.buf[:0]
			e.str(k)
			if want := string(appendString(nil, k)); string(e.buf) != want {
				t.Fatalf("round %d: value %q written %q, want %q", round, k, e.buf, want)
			}
			e.buf = e.buf[:0]
			if err := e.key(k); err != nil {
				continue // too long for a key: covered elsewhere
			}
			if want := string(appendString(nil, k)) + ":"; string(e.buf) != want {
				t.Fatalf("round %d: key %q written %q, want %q", round, k, e.buf, want)
			}
		}
	}
}

// TestRememberedKeySets writes string maps one after another, as a
// fleet's objects do: the same keys again (a remembered set), more sets of
// one size than are remembered, the same keys in new strings, one key,
// and keys too long to write. Each must come out as sorting it alone
// writes it, or fail as it does.
func TestRememberedKeySets(t *testing.T) {
	r := rand.New(rand.NewSource(7))
	long := strings.Repeat("k", maxKey+1)
	pool := []string{"app", "version", "app.kubernetes.io/name", "app.kubernetes.io/instance", "b", "a", "sidecar.istio.io/inject", "z", "yes", long}
	var e, fresh encoder
	hits := 0
	for round := 0; round < 20000; round++ {
		m := map[string]string{}
		for _, k := range pool[:1+r.Intn(len(pool))] {
			if r.Intn(4) > 0 && (k != long || r.Intn(20) == 0) {
				if r.Intn(3) == 0 {
					k = string([]byte(k)) // equal keys in other bytes
				}
				m[k] = "v" + strconv.Itoa(r.Intn(100))
			}
		}
		if ks, _ := e.keySets.lookup(m); ks != nil {
			hits++
		}
		e.buf, fresh = e.buf[:0], encoder{}
		ok, err := e.stringMap(m, 2, true)
		wantOK, wantErr := fresh.sortedPairsOf(m, 2, true)
		if ok != wantOK || fmt.Sprint(err) != fmt.Sprint(wantErr) || string(e.buf) != string(fresh.buf) {
			t.Fatalf("round %d, %d keys: wrote %q (%v, %v), want %q (%v, %v)", round, len(m), e.buf, ok, err, fresh.buf, wantOK, wantErr)
		}
	}
	if hits < 2000 {
		t.Fatalf("only %d maps had their keys remembered: the test does not reach the remembered sets", hits)
	}
}

// sortedPairsOf writes m by sorting its entries alone, as stringMap did
// before it remembered key sets.
func (e *encoder) sortedPairsOf(m map[string]string, indent int, present bool) (bool, error) {
	for k, v := range m {
		e.pairs = append(e.pairs, kv{k, v})
	}
	return e.sortedPairs(0, indent, present)
}

// deepWidget is a custom resource whose spec nests deeper than the keyPad
// spaces a key carries: entries past that indent have spaces added.
type deepWidget struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              nested `json:"spec"`
}

type nested struct {
	Name   string            `json:"name"`
	Labels map[string]string `json:"labels,omitempty"`
	Items  []nested          `json:"items,omitempty"`
	Child  *nested           `json:"child,omitempty"`
}

func (w *deepWidget) DeepCopyObject() runtime.Object { c := *w; return &c }

// TestDeepNestingMatchesReference: a spec nested 40 deep (indents to 160
// spaces, through keys, lists and string maps) means what the reference
// encoding means, by both paths.
func TestDeepNestingMatchesReference(t *testing.T) {
	spec := &nested{Name: "bottom", Labels: map[string]string{"app": "m", "version": "v1"}}
	for i := 39; i >= 0; i-- {
		n := &nested{Name: fmt.Sprintf("level-%d", i)}
		if i%3 == 0 {
			n.Items = []nested{*spec, {Name: "sibling"}}
		} else {
			n.Child = spec
		}
		spec = n
	}
	w := &deepWidget{TypeMeta: metav1.TypeMeta{APIVersion: "example.com/v1", Kind: "Deep"}, ObjectMeta: metav1.ObjectMeta{Name: "d"}, Spec: *spec}
	ref, err := yaml.Marshal(w)
	if err != nil {
		t.Fatal(err)
	}
	var theirs any
	if err := yaml.Unmarshal(ref, &theirs); err != nil {
		t.Fatal(err)
	}
	for _, reflective := range []bool{false, true} {
		e := encoder{reflective: reflective}
		if err := e.object(w); err != nil {
			t.Fatal(err)
		}
		var ours any
		if err := yaml.Unmarshal(e.buf, &ours); err != nil {
			t.Fatalf("reflective=%v: our YAML does not parse: %v\n%s", reflective, err, e.buf)
		}
		if a, b := Normalize(ours, true), Normalize(theirs, false); !reflect.DeepEqual(a, b) {
			ja, _ := json.MarshalIndent(a, "", "  ")
			jb, _ := json.MarshalIndent(b, "", "  ")
			t.Fatalf("reflective=%v differs from the reference (-reference +ours):\n%s", reflective, diffLabelled(string(jb), string(ja), "reference", "ours"))
		}
		if !strings.Contains(string(e.buf), "\n"+strings.Repeat(" ", 2*keyPad+2)) {
			t.Errorf("reflective=%v: no line is indented past twice keyPad; the test no longer reaches that far", reflective)
		}
	}
}
