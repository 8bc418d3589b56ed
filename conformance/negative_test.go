package conformance

import (
	"context"
	"strings"
	"testing"

	"github.com/mlmesh/mlmesh/egress"
	"github.com/mlmesh/mlmesh/render"
)

// Each check must catch a deliberately broken bundle, so that none can pass
// by doing nothing.

const brokenSubset = `apiVersion: v1
kind: Namespace
metadata:
  name: neg
  labels:
    istio-injection: enabled
---
apiVersion: v1
kind: Service
metadata:
  name: m
  namespace: neg
spec:
  selector:
    app: m
  ports:
  - name: http
    port: 8080
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: m
  namespace: neg
spec:
  host: m.neg.svc.cluster.local
  subsets:
  - name: v1
    labels:
      version: v1
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: m
  namespace: neg
spec:
  hosts:
  - m.neg.svc.cluster.local
  http:
  - route:
    - destination:
        host: m.neg.svc.cluster.local
        subset: v2
`

func TestNegativeAnalyzerMissingSubset(t *testing.T) {
	msgs, err := Analyze("neg", []byte(brokenSubset), []byte(IngressGatewayFixture))
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, m := range msgs {
		t.Logf("analyzer: %s", m.String())
		if m.Type.Code() == "IST0101" && strings.Contains(m.String(), "v2") {
			found = true
		}
	}
	if !found {
		t.Error("the analyzers did not report the missing subset v2 (IST0101)")
	}
}

// brokenVS is a VirtualService with one flaw, substituted below.
func brokenVS(t *testing.T, route string) *Bundle {
	t.Helper()
	b, err := ParseBundle("broken", []byte(`apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: m
  namespace: neg
spec:
  hosts:
  - m.neg.svc.cluster.local
  http:
`+route))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const (
	badRegex = `  - match:
    - headers:
        user-agent:
          regex: "(?=chrome)"
    route:
    - destination:
        host: m.neg.svc.cluster.local
`
	negativeWeight = `  - route:
    - destination:
        host: m.neg.svc.cluster.local
        subset: v1
      weight: 110
    - destination:
        host: m.neg.svc.cluster.local
        subset: v2
      weight: -10
`
	unknownField = `  - route:
    - destination:
        host: m.neg.svc.cluster.local
    canaryWeight: 10
`
	// A timeout under 1ms breaks a CEL rule of the CRD.
	celViolation = `  - route:
    - destination:
        host: m.neg.svc.cluster.local
    timeout: 0.0001s
`
	sixtyThirty = `  - route:
    - destination:
        host: m.neg.svc.cluster.local
        subset: v1
      weight: 60
    - destination:
        host: m.neg.svc.cluster.local
        subset: v2
      weight: 30
`
)

func TestNegativeIstioValidation(t *testing.T) {
	for name, route := range map[string]string{"bad regex": badRegex, "negative weight": negativeWeight, "unknown field": unknownField} {
		_, err := ValidateIstio(brokenVS(t, route).Objects[0])
		if err == nil {
			t.Errorf("%s: Istio validation accepted it", name)
		} else {
			t.Logf("%s: caught: %v", name, err)
		}
	}
	// Istio accepts a 60/30 split (Envoy normalises it to 67/33): this is
	// why mlmesh checks sums itself (see TestNegativeSixtyThirty).
	if _, err := ValidateIstio(brokenVS(t, sixtyThirty).Objects[0]); err != nil {
		t.Errorf("Istio now rejects 60/30 (%v): revisit the docs that say it does not", err)
	}
}

func TestNegativeCRDSchema(t *testing.T) {
	crds, err := IstioCRDs()
	if err != nil {
		t.Fatal(err)
	}
	for name, route := range map[string]string{"unknown field": unknownField, "CEL violation": celViolation} {
		errs := crds.Check(brokenVS(t, route).Objects[0])
		if len(errs) == 0 {
			t.Errorf("%s: the CRD schema accepted it", name)
		} else {
			t.Logf("%s: caught: %v", name, errs.ToAggregate())
		}
	}
	// The Inference Extension's alpha kinds are held to their schemas
	// too: a rewrite target's weight above the schema's 1,000,000.
	b, err := ParseBundle("rewrite", []byte(`apiVersion: inference.networking.x-k8s.io/v1alpha2
kind: InferenceModelRewrite
metadata:
  name: qwen-v1
  namespace: neg
spec:
  poolRef:
    name: qwen-v1
  rules:
  - matches:
    - model:
        value: summarize
    targets:
    - modelRewrite: summarize-r1
      weight: 2000000
`))
	if err != nil {
		t.Fatal(err)
	}
	if errs := crds.Check(b.Objects[0]); len(errs) == 0 {
		t.Error("an InferenceModelRewrite weight of 2,000,000: the CRD schema accepted it")
	} else {
		t.Logf("rewrite weight: caught: %v", errs.ToAggregate())
	}
}

// TestNegativeEnvoy feeds a 60/30 split where 90/10 was meant: the route
// comparison must see it.
func TestNegativeEnvoy(t *testing.T) {
	bundles, err := ExampleBundles()
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bundles {
		if b.Name != "tfserving-canary" {
			continue
		}
		broken := strings.Replace(string(b.YAML), "weight: 90", "weight: 60", -1)
		broken = strings.Replace(broken, "weight: 10", "weight: 30", -1)
		nb, err := ParseBundle(b.Name, []byte(broken))
		if err != nil {
			t.Fatal(err)
		}
		sidecar, gw, err := EnvoyRoutes(t, nb, "vjan", false)
		if err != nil {
			t.Fatal(err)
		}
		problems := compareRoutes(sidecar, gw, expectations[b.Name])
		if len(problems) == 0 {
			t.Fatal("a 60/30 split passed for a 90/10 canary")
		}
		t.Logf("caught: %s", problems[0])
		return
	}
	t.Fatal("tfserving-canary bundle not found")
}

func TestNegativeAPIServer(t *testing.T) {
	s := apiServer(t)
	ctx := context.Background()
	ns, _ := ParseBundle("ns", []byte("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: neg\n"))
	if _, err := s.Apply(ctx, ns.Objects[0]); err != nil {
		t.Fatal(err)
	}
	for name, route := range map[string]string{"unknown field": unknownField, "CEL violation": celViolation} {
		_, err := s.Apply(ctx, brokenVS(t, route).Objects[0])
		if err == nil {
			t.Errorf("%s: the API server accepted it", name)
		} else {
			t.Logf("%s: caught: %v", name, err)
		}
	}
	// The API server does not run Istio's semantics: a bad regex passes it.
	if _, err := s.Apply(ctx, brokenVS(t, badRegex).Objects[0]); err != nil {
		t.Logf("note: the API server rejected a bad regex too: %v", err)
	}
}

// TestAnalyzerServerVerification: Istio's analyzers report a
// TLS-originating DestinationRule that names no CA (IST0129, what egress
// built before it verified servers), and not the one egress builds now.
func TestAnalyzerServerVerification(t *testing.T) {
	spec := egress.Spec{Name: "registry", Namespace: "neg", Hosts: []string{"models.internal.example.com"}, Ports: egress.OriginateTLS()}
	se, err := egress.ServiceEntry(spec)
	if err != nil {
		t.Fatal(err)
	}
	drs, err := egress.DestinationRules(spec)
	if err != nil {
		t.Fatal(err)
	}
	built, err := render.YAML([]render.Object{se, drs[0]})
	if err != nil {
		t.Fatal(err)
	}
	unverified := strings.Replace(string(built), "        caCertificates: "+egress.DefaultCACertificates+"\n", "", 1)
	if unverified == string(built) {
		t.Fatal("no caCertificates line to remove")
	}
	for _, tc := range []struct {
		name   string
		stream string
		want   bool
	}{{"built", string(built), false}, {"without a CA", unverified, true}} {
		msgs, err := Analyze("neg", []byte(tc.stream), []byte(IngressGatewayFixture))
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, m := range msgs {
			t.Logf("%s: analyzer: %s", tc.name, m.String())
			if m.Type.Code() == "IST0129" || m.Type.Code() == "IST0128" {
				found = true
			}
		}
		if found != tc.want {
			t.Errorf("%s: IST0128/IST0129 reported: %v, want %v", tc.name, found, tc.want)
		}
	}
}
