package conformance

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/mlmesh/mlmesh/mesh"
	"github.com/mlmesh/mlmesh/names"
	"github.com/mlmesh/mlmesh/render"
	"github.com/mlmesh/mlmesh/serving"
)

// TestRandomSpecsAgree generates App specs (MLMESH_SPECS of them, at least
// 500, from seed MLMESH_SEED) and holds mlmesh to Istio: what mlmesh accepts,
// Istio's validation, the CRD schemas and the analyzers accept, and Envoy's
// weighted clusters equal the requested split; what mlmesh rejects carries a
// field path on every problem. A spec built with a fault must be rejected;
// one built valid must be accepted.
func TestRandomSpecsAgree(t *testing.T) {
	n := envInt("MLMESH_SPECS", 600)
	seed := int64(envInt("MLMESH_SEED", 20261122))
	crds, err := IstioCRDs()
	if err != nil {
		t.Fatal(err)
	}
	gen := NewGenerator(seed)
	var accepted, rejected, objects, routes int
	for i := 0; i < n; i++ {
		spec := gen.Next(i)
		fail := func(format string, args ...any) {
			t.Helper()
			t.Errorf("seed %d spec %d (fault: %q): %s", seed, i, spec.Fault, fmt.Sprintf(format, args...))
		}
		objs, err := mesh.Build(spec.App)
		if err != nil {
			rejected++
			var ve *mesh.ValidationError
			if !errors.As(err, &ve) {
				fail("error is not a *mesh.ValidationError: %v", err)
				continue
			}
			for _, fe := range ve.Errors {
				if fe.Field == "" || fe.Field == "<nil>" {
					fail("a problem without a field path: %v", fe)
				}
			}
			if spec.Fault == "" {
				fail("a spec built valid was rejected: %v", err)
			}
			continue
		}
		accepted++
		if spec.Fault != "" {
			fail("mlmesh accepted a spec with a fault")
			continue
		}
		stream, err := render.YAML(objs)
		if err != nil {
			fail("render: %v", err)
			continue
		}
		b, err := ParseBundle(fmt.Sprintf("spec-%d", i), stream)
		if err != nil {
			fail("%v", err)
			continue
		}
		for _, o := range b.Objects {
			if !IsIstio(o) {
				continue
			}
			objects++
			warnings, err := ValidateIstio(o)
			if err != nil {
				fail("%s: Istio validation: %v\n%s", Describe(o), err, stream)
			}
			for _, w := range warnings {
				fail("%s: Istio validation warning: %s", Describe(o), w)
			}
			for _, e := range crds.Check(o) {
				fail("%s: CRD schema: %v", Describe(o), e)
			}
		}
		pods, err := Pods(b)
		if err != nil {
			fail("%v", err)
			continue
		}
		msgs, err := Analyze(spec.App.Namespace.Name, stream, pods, []byte(IngressGatewayFixture))
		if err != nil {
			fail("analyze: %v", err)
		}
		for _, m := range msgs {
			fail("analyzer: %s\n%s", m.String(), stream)
		}
		sidecar, _, err := EnvoyRoutes(t, b, spec.App.Namespace.Name, false)
		if err != nil {
			fail("config generator: %v", err)
			continue
		}
		for _, p := range splitProblems(spec.App, sidecar) {
			fail("%s", p)
		}
		routes++
	}
	t.Logf("seed %d: %d specs, %d accepted (%d Istio objects validated, %d bundles' Envoy routes checked), %d rejected", seed, n, accepted, objects, routes, rejected)
	if n < 500 {
		t.Errorf("only %d specs generated; the agreement check wants at least 500", n)
	}
	if accepted < n/4 || rejected < n/4 {
		t.Errorf("unbalanced generation: %d accepted, %d rejected", accepted, rejected)
	}
}

// splitProblems compares, for each model's catch-all rule, the weighted
// clusters a sidecar receives on each routed port with the requested split.
func splitProblems(app mesh.App, sidecar RouteTable) []string {
	var problems []string
	for _, m := range app.Models {
		host := names.ServiceHost(m.Name, app.Namespace.Name)
		rules := m.Traffic.Rules
		if len(rules) == 0 {
			continue
		}
		last := rules[len(rules)-1]
		if len(last.Match) != 0 {
			continue
		}
		// Istio makes one Envoy route per match of each earlier rule.
		idx := 0
		for _, r := range rules[:len(rules)-1] {
			idx += max(1, len(r.Match))
		}
		rt := m.Runtime // the generator always names one
		for _, p := range rt.Ports {
			rc := strconv.Itoa(int(p.Number))
			rs := sidecar[rc][host]
			if p.Auxiliary || p.Protocol == serving.TCP {
				// Not routed: whatever Envoy has there sends to no subset.
				for _, r := range rs {
					for c := range r.Clusters {
						if parts := strings.Split(c, "|"); len(parts) == 4 && parts[2] != "" {
							problems = append(problems, fmt.Sprintf("%s port %s is not for inference, but Envoy routes it to %s", host, rc, c))
						}
					}
				}
				continue
			}
			if idx >= len(rs) {
				problems = append(problems, fmt.Sprintf("%s port %s: %d Envoy routes, want route %d", host, rc, len(rs), idx))
				continue
			}
			want := map[string]uint32{}
			for _, d := range last.Split {
				w := uint32(d.Weight)
				if len(last.Split) == 1 {
					w = 100
				}
				if w > 0 {
					want[Cluster(int(p.Number), d.Subset, host)] = w
				}
			}
			if got := rs[idx].Clusters; fmt.Sprint(got) != fmt.Sprint(want) {
				problems = append(problems, fmt.Sprintf("%s port %s: Envoy weighted clusters %v, requested %v", host, rc, got, want))
			}
		}
	}
	return problems
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(strings.TrimSpace(os.Getenv(name))); err == nil && v > 0 {
		return v
	}
	return def
}
