package conformance

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"unicode"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/mlmesh/mlmesh/ingress"
	"github.com/mlmesh/mlmesh/mesh"
	"github.com/mlmesh/mlmesh/render"
)

// FuzzApp is the differential check as a native fuzz target: an App the
// fuzzer's bytes describe (fuzzgen.go) is built; if mlmesh accepts it,
// Istio's validation (warnings included), the CRD schemas with their CEL
// rules and all of Istio's analyzers must report nothing, and the output
// must read back as the objects built; if mlmesh refuses it, every problem
// must name a field of the App as the user wrote it.
//
//	cd conformance && go test -run XXX -fuzz FuzzApp -fuzztime 10m .
//
// make test runs it for a bounded time (make fuzz-short); make fuzz-long
// for as long as FUZZTIME says.
func FuzzApp(f *testing.F) {
	for i := range fuzzTemplates() {
		f.Add([]byte{byte(i)})
		for m := range mutations {
			f.Add([]byte{byte(i), byte(m), 1, 2, 3})
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkApp(t, fuzzApp(data))
	})
}

var fuzzCRDs = sync.OnceValues(IstioCRDs)

// checkApp holds one App to Istio, or its errors to the App's fields.
func checkApp(t *testing.T, app mesh.App) {
	t.Helper()
	objs, err := mesh.Build(app)
	if refusedAtFields(t, app, err) {
		return
	}
	stream, err := render.YAML(objs)
	if err != nil {
		t.Fatalf("accepted, then not rendered: %v", err)
	}
	b, err := ParseBundle("fuzz", stream)
	if err != nil {
		t.Fatalf("the output does not read back: %v", err)
	}
	if len(b.Objects) != len(objs) {
		t.Fatalf("%d objects built, %d read back", len(objs), len(b.Objects))
	}
	for i, o := range objs {
		want, err := render.Unstructured(o)
		if err != nil {
			t.Fatalf("%s: Unstructured: %v", render.Describe(o), err)
		}
		if !reflect.DeepEqual(want.Object, b.Objects[i].Object) {
			t.Fatalf("%s reads back differently:\n%s", render.Describe(o), stream)
		}
	}
	crds, err := fuzzCRDs()
	if err != nil {
		t.Fatalf("Istio's CRDs: %v", err)
	}
	for _, o := range b.Objects {
		switch {
		case IsIstio(o):
			istioClean(t, crds, o, stream)
		case HasCRD(o):
			// Gateway API objects and InferencePools: their CRD schemas
			// and CEL rules, which is all the validation they have.
			for _, e := range crds.Check(o) {
				t.Fatalf("%s: CRD schema: %v\n%s", Describe(o), e, stream)
			}
		}
	}
	owned := []byte(nil)
	if app.Namespace.Existing {
		// The namespace exists, labelled by its owner as the App's
		// Injection asks (mesh.Namespace.Existing).
		ns := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": app.Namespace.Name}}}
		if app.Namespace.Injection == mesh.InjectNamespace || app.Namespace.Injection == mesh.InjectNone {
			ns.SetLabels(map[string]string{"istio-injection": "enabled"})
		}
		b.Objects = append([]*unstructured.Unstructured{ns}, b.Objects...)
		if owned, err = render.YAML([]render.Object{ns}); err != nil {
			t.Fatal(err)
		}
	}
	if app.Namespace.Injection == mesh.InjectNone {
		// Injection is configured elsewhere (a revision label, a webhook
		// of the cluster's own): the pods get their sidecars all the same.
		for _, o := range b.Objects {
			if o.GetKind() == "Namespace" && o.GetName() == app.Namespace.Name {
				o.SetLabels(map[string]string{"istio-injection": "enabled"})
			}
		}
	}
	pods, err := Pods(b)
	if err != nil {
		t.Fatalf("the pods of the bundle: %v", err)
	}
	msgs, err := Analyze(app.Namespace.Name, stream, pods, gatewayFixture(app), owned, gatewayAPIFixture(b))
	if err != nil {
		t.Fatalf("analyze: %v", err)
	}
	for _, m := range msgs {
		// Documented: a namespace that opts pods in one by one, or none at
		// all, is not labelled for injection, and the analyzer says so.
		if m.Type.Code() == "IST0102" && app.Namespace.Injection != mesh.InjectNamespace {
			continue
		}
		t.Fatalf("analyzer: %s\n%s", m.String(), stream)
	}
}

// istioClean fails t unless Istio's validation (warnings included) and the
// CRD schemas with CEL accept o; stream is shown on failure.
func istioClean(t *testing.T, crds *CRDs, o *unstructured.Unstructured, stream []byte) {
	t.Helper()
	warnings, err := ValidateIstio(o)
	if err != nil {
		t.Fatalf("%s: Istio validation: %v\n%s", Describe(o), err, stream)
	}
	for _, w := range warnings {
		t.Fatalf("%s: Istio validation warning: %s\n%s", Describe(o), w, stream)
	}
	for _, e := range crds.Check(o) {
		t.Fatalf("%s: CRD schema: %v\n%s", Describe(o), e, stream)
	}
}

// gatewayFixture is the gateway workloads the App's Gateways select, as the
// cluster's owner would run them: for each selector a Service and a Pod in
// istio-system serving every port the Gateways list, and the TLS Secrets
// they name, and the namespace web of the callers that the fuzzer's access
// rules name. mlmesh builds none of these; without them the analyzers report
// the missing pods, ports and Secrets (IST0101, IST0104).
func gatewayFixture(app mesh.App) []byte {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: istio-system\n")
	// The namespace of the callers that access rules name.
	b.WriteString("---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: web\n")
	type workload struct {
		selector map[string]string
		ports    map[uint32]bool
	}
	var workloads []*workload
	for _, g := range app.Gateways {
		sel := g.Selector
		if len(sel) == 0 {
			sel = ingress.DefaultSelector()
		}
		var w *workload
		for _, x := range workloads {
			if reflect.DeepEqual(x.selector, sel) {
				w = x
			}
		}
		if w == nil {
			w = &workload{selector: sel, ports: map[uint32]bool{}}
			workloads = append(workloads, w)
		}
		for _, s := range g.Servers {
			if s.Port > 0 && s.Port <= 65535 {
				w.ports[s.Port] = true
			}
		}
	}
	for i, w := range workloads {
		var labels, ports, containerPorts strings.Builder
		keys := make([]string, 0, len(w.selector))
		for k := range w.selector {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(&labels, "    %s: %q\n", k, w.selector[k])
		}
		nums := make([]int, 0, len(w.ports))
		for p := range w.ports {
			nums = append(nums, int(p))
		}
		sort.Ints(nums)
		for _, p := range nums {
			fmt.Fprintf(&ports, "  - name: port-%d\n    port: %d\n    protocol: TCP\n    targetPort: %d\n", p, p, p)
			fmt.Fprintf(&containerPorts, "    - containerPort: %d\n", p)
		}
		if len(nums) == 0 {
			ports.WriteString("  - name: http\n    port: 80\n")
		}
		fmt.Fprintf(&b, "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: gateway-%d\n  namespace: istio-system\n  labels:\n%sspec:\n  selector:\n%s  ports:\n%s",
			i, labels.String(), labels.String(), ports.String())
		fmt.Fprintf(&b, "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: gateway-%d-0\n  namespace: istio-system\n  labels:\n%sspec:\n  containers:\n  - name: istio-proxy\n    image: docker.io/istio/proxyv2:1.31.1\n    ports:\n%s",
			i, labels.String(), containerPorts.String())
	}
	seen := map[string]bool{}
	for _, g := range app.Gateways {
		for _, s := range g.Servers {
			if s.TLS == nil || s.TLS.CredentialName == "" || seen[s.TLS.CredentialName] {
				continue
			}
			seen[s.TLS.CredentialName] = true
			b.WriteString("---\n" + tlsSecret(s.TLS.CredentialName, "istio-system"))
		}
	}
	return []byte(b.String())
}

// resolvePath reports whether a field path ("models[0].traffic.rules[1]",
// "gateways[0].selector[istio]") names a field of v that exists: struct
// fields by their JSON or lowerCamel names (embedded structs' fields too),
// slice indices within range, map keys present; a nil pointer may be named
// but not gone through.
func resolvePath(v any, path string) error {
	cur := reflect.ValueOf(v)
	for _, tok := range pathTokens(path) {
		for cur.Kind() == reflect.Pointer || cur.Kind() == reflect.Interface {
			if cur.IsNil() {
				return fmt.Errorf("%s is nil before %q", cur.Type(), tok.name)
			}
			cur = cur.Elem()
		}
		switch {
		case tok.index >= 0:
			if cur.Kind() != reflect.Slice && cur.Kind() != reflect.Array {
				return fmt.Errorf("[%d] on a %s", tok.index, cur.Type())
			}
			if tok.index >= cur.Len() {
				return fmt.Errorf("[%d] past the %d elements", tok.index, cur.Len())
			}
			cur = cur.Index(tok.index)
		case tok.key:
			if cur.Kind() != reflect.Map {
				return fmt.Errorf("[%s] on a %s", tok.name, cur.Type())
			}
			k := reflect.ValueOf(tok.name).Convert(cur.Type().Key())
			val := cur.MapIndex(k)
			if !val.IsValid() {
				return fmt.Errorf("no key %q", tok.name)
			}
			cur = val
		default:
			if cur.Kind() != reflect.Struct {
				return fmt.Errorf(".%s on a %s", tok.name, cur.Type())
			}
			next, ok := structField(cur, tok.name)
			if !ok {
				return fmt.Errorf("%s has no field %q", cur.Type(), tok.name)
			}
			cur = next
		}
	}
	return nil
}

type pathToken struct {
	name  string
	index int // -1 unless [n]
	key   bool
}

func pathTokens(path string) []pathToken {
	var out []pathToken
	for i := 0; i < len(path); {
		switch path[i] {
		case '.':
			i++
		case '[':
			end := strings.IndexByte(path[i:], ']')
			if end < 0 {
				return append(out, pathToken{name: path[i:], index: -1})
			}
			inner := path[i+1 : i+end]
			if n, err := strconv.Atoi(inner); err == nil {
				out = append(out, pathToken{index: n})
			} else {
				out = append(out, pathToken{name: inner, index: -1, key: true})
			}
			i += end + 1
		default:
			end := strings.IndexAny(path[i:], ".[")
			if end < 0 {
				end = len(path) - i
			}
			out = append(out, pathToken{name: path[i : i+end], index: -1})
			i += end
		}
	}
	return out
}

// structField finds a field by JSON name or lowerCamel Go name (or the Go
// name in any case: gpus for GPUs), looking into embedded structs.
func structField(v reflect.Value, name string) (reflect.Value, bool) {
	t := v.Type()
	for i := range t.NumField() {
		sf := t.Field(i)
		if tag := strings.Split(sf.Tag.Get("json"), ",")[0]; tag == name || lowerCamel(sf.Name) == name || strings.EqualFold(sf.Name, name) {
			return v.Field(i), true
		}
	}
	for i := range t.NumField() {
		if sf := t.Field(i); sf.Anonymous && sf.Type.Kind() == reflect.Struct {
			if f, ok := structField(v.Field(i), name); ok {
				return f, true
			}
		}
	}
	return reflect.Value{}, false
}

// lowerCamel is how field paths spell Go field names: GPUs is gpus,
// ModelURI modelURI, HTTPStatus httpStatus, TLS tls.
func lowerCamel(s string) string {
	r := []rune(s)
	n := 0
	for n < len(r) && unicode.IsUpper(r[n]) {
		n++
	}
	switch {
	case n == len(r):
		return strings.ToLower(s)
	case n > 1:
		n-- // "HTTPStatus": the S starts the next word
	}
	return strings.ToLower(string(r[:n])) + string(r[n:])
}

// TestResolvePath holds the resolver to a few paths that exist and a few
// that do not.
func TestResolvePath(t *testing.T) {
	app := fullApp()
	for _, p := range []string{"models[0].traffic.rules[1].split[0].weight", "models[0].versions[1].modelURI", "gateways[0].servers[1].tls.credentialName",
		"models[0].traffic.rules[0].match[0].headers[x-canary].value", "namespace.name", "routes[0].hosts[0]", "models[1].runtime.readinessPort", "egress[1].ports[0].originateTLS"} {
		if err := resolvePath(app, p); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
	for _, p := range []string{"models[0].traffic.ports[0]", "routes[0].ports[0]", "models[0].expose.rules[0]", "models[5].name", "models[1].expose.hosts[0]",
		"models[0].traffic.rules[0].match[0].headers[x-none]", "routes[0].namespace", "routes[0].host"} {
		if err := resolvePath(app, p); err == nil {
			t.Errorf("%s resolves, but names no field of the App", p)
		}
	}
}
