package conformance

import (
	"fmt"
	"testing"

	"github.com/mlmesh/mlmesh/internal/scenarios"
	"github.com/mlmesh/mlmesh/mesh"
	"github.com/mlmesh/mlmesh/render"
)

// TestRandomAppsEquivalence holds the Gateway API dialect, and ambient
// mode, to the Istio dialect on the suite's random Apps (MLMESH_EQUIV_SPECS
// of them, default 400, from seed MLMESH_SEED): each valid App that both
// dialects accept is fed to Istio's config generator in both, and a sidecar
// (or the waypoint) and the gateway must route it alike, as on the examples
// (TestGatewayAPIEquivalence, TestAmbientEquivalence). Every third App is
// also compared in ambient mode.
func TestRandomAppsEquivalence(t *testing.T) {
	n := envInt("MLMESH_EQUIV_SPECS", 400)
	seed := int64(envInt("MLMESH_SEED", 20261122))
	crds, err := IstioCRDs()
	if err != nil {
		t.Fatal(err)
	}
	// What either dialect accepts, the CRDs (schemas and CEL rules) accept:
	// Istio's, the Gateway API's and the InferencePool's, as the API server
	// enforces them.
	schemaClean := func(name string, b *Bundle) {
		for _, o := range b.Objects {
			if !HasCRD(o) {
				continue
			}
			for _, e := range crds.Check(o) {
				t.Errorf("%s: %s: CRD schema: %v", name, Describe(o), e)
			}
		}
	}
	gen := NewGenerator(seed)
	compared, ambient, refused := 0, 0, 0
	bundle := func(name string, app mesh.App) (*Bundle, bool) {
		objs, err := mesh.Build(app)
		if err != nil {
			return nil, false
		}
		stream, err := render.YAML(objs)
		if err != nil {
			t.Fatal(err)
		}
		b, err := ParseBundle(name, stream)
		if err != nil {
			t.Fatal(err)
		}
		return b, true
	}
	for i := 0; i < n; i++ {
		spec := gen.Next(i)
		if spec.Fault != "" {
			continue
		}
		name := fmt.Sprintf("seed %d spec %d", seed, i)
		ib, ok := bundle(name, spec.App)
		if !ok {
			continue // TestRandomSpecsAgree reports it
		}
		gapp := spec.App
		gapp.API = mesh.GatewayAPI
		gb, ok := bundle(name+" (gateway)", gapp)
		if !ok {
			refused++ // what the Gateway API cannot say, refused at its field
			if _, err := mesh.Build(gapp); testing.Verbose() {
				t.Logf("%s: refused in the Gateway API dialect: %v", name, err)
			}
			continue
		}
		schemaClean(name+" (gateway)", gb)
		isc, igw, err := EnvoyRoutes(t, ib, ib.Namespace(), len(istioObjects(ib, "Gateway")) > 0)
		if err != nil {
			t.Fatal(err)
		}
		want := onServicePorts(ib, isc)
		gsc, ggw, err := EnvoyRoutes(t, gb, gb.Namespace(), false)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range sameRoutesBut("sidecar", want, gsc, true, false) {
			t.Errorf("%s: %s", name, p)
		}
		if igw != nil {
			for _, p := range sameRoutesBut("gateway", igw, unpooled(gb, ggw), false, false) {
				t.Errorf("%s: %s", name, p)
			}
		}
		compared++
		if i%3 != 0 {
			continue
		}
		ab, ok := bundle(name+" (ambient)", scenarios.Ambient(gapp))
		if !ok {
			continue
		}
		schemaClean(name+" (ambient)", ab)
		m, err := NewAmbientMesh(t, ab)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range sameRoutesBut("waypoint", fqdnOnly(want), m.WaypointRoutes(), true, false) {
			t.Errorf("%s: %s", name, p)
		}
		if igw != nil {
			for _, p := range sameRoutesBut("gateway", igw, unpooled(ab, m.GatewayRoutes()), false, false) {
				t.Errorf("%s: ambient %s", name, p)
			}
		}
		ambient++
	}
	t.Logf("%d random Apps compared in the Gateway API dialect, %d of them in ambient mode; %d refused by the Gateway API dialect", compared, ambient, refused)
	if compared < n/8 {
		t.Errorf("only %d of %d random Apps compared", compared, n)
	}
}
