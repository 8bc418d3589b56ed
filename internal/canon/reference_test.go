package canon

import (
	"encoding/json"
	"math/rand"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"
	"sigs.k8s.io/yaml"
)

// TestRandomValuesMatchReference holds the encoder to the reference
// encodings, not only to itself: every type render's scheme knows, filled
// at random, must mean in canonical YAML what it means in the reference
// (encoding/json for Kubernetes types, protojson for Istio's, both through
// sigs.k8s.io/yaml), once the documented differences of the canonical form
// are applied (Normalize).
func TestRandomValuesMatchReference(t *testing.T) {
	seed := int64(20261130)
	f := &filler{r: rand.New(rand.NewSource(seed))}
	kinds := Scheme.AllKnownTypes()
	var names []string
	byName := map[string]reflect.Type{}
	for gvk, typ := range kinds {
		names = append(names, gvk.String())
		byName[gvk.String()] = typ
	}
	sort.Strings(names)
	rounds := 10
	if testing.Short() {
		rounds = 2
	}
	compared := 0
	skipped := map[string]int{}
	for _, name := range names {
		for round := 0; round < rounds; round++ {
			v := reflect.New(byName[name])
			f.fill(v.Elem(), 0)
			o, ok := v.Interface().(Object)
			if !ok {
				continue
			}
			var e encoder
			if err := e.object(o); err != nil {
				skipped["ours: "+firstWords(err.Error())]++
				continue // values the encoder refuses (invalid UTF-8, say) are another test's
			}
			ref, err := yaml.Marshal(o)
			if err != nil {
				skipped["reference: "+firstWords(err.Error())]++
				continue // nor values the reference cannot encode
			}
			var ours, theirs any
			if err := yaml.Unmarshal(e.buf, &ours); err != nil {
				t.Fatalf("%s round %d: our YAML does not parse: %v\n%s", name, round, err, e.buf)
			}
			if err := yaml.Unmarshal(ref, &theirs); err != nil {
				t.Fatalf("%s round %d: the reference does not parse: %v", name, round, err)
			}
			a, b := Normalize(ours, true), Normalize(theirs, false)
			if !reflect.DeepEqual(a, b) {
				ja, _ := json.MarshalIndent(a, "", "  ")
				jb, _ := json.MarshalIndent(b, "", "  ")
				t.Fatalf("%s round %d (seed %d) differs from the reference (-reference +ours):\n%s", name, round, seed, diffLabelled(string(jb), string(ja), "reference", "ours"))
			}
			compared++
		}
	}
	if compared < 100 {
		t.Fatalf("compared only %d objects", compared)
	}
	t.Logf("%d random objects of %d types mean what the reference encodings mean (seed %d); skipped: %v", compared, len(names), seed, skipped)
}

func firstWords(s string) string {
	if len(s) > 60 {
		return s[:60]
	}
	return s
}

// TestWellKnownErrorsSurface: a well-known value without a JSON form is an
// error, never a field silently left out.
func TestWellKnownErrorsSurface(t *testing.T) {
	var e encoder
	bad := &timestamppb.Timestamp{Seconds: 1 << 62} // past year 9999
	wrote, ok, err := e.wellKnown(bad.ProtoReflect(), 0, true)
	if !ok || err == nil {
		t.Fatalf("out-of-range Timestamp: wrote %v, handled %v, error %v; want an error", wrote, ok, err)
	}
	if !strings.Contains(err.Error(), "google.protobuf.Timestamp") {
		t.Errorf("the error does not name the type: %v", err)
	}
	good := timestamppb.New(time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC))
	e = encoder{}
	if wrote, ok, err := e.wellKnown(good.ProtoReflect(), 0, true); !ok || !wrote || err != nil {
		t.Fatalf("valid Timestamp: wrote %v, handled %v, error %v", wrote, ok, err)
	}
	if got := strings.TrimSpace(string(e.buf)); got != `"2026-11-30T00:00:00Z"` {
		t.Errorf("valid Timestamp written as %s", got)
	}
}
