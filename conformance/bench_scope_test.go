package conformance

import (
	"os"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"istio.io/istio/pilot/pkg/model"
	"istio.io/istio/pilot/test/xds"

	"github.com/mlmesh/mlmesh/egress"
	"github.com/mlmesh/mlmesh/mesh"
	"github.com/mlmesh/mlmesh/render"
	"github.com/mlmesh/mlmesh/routing"
)

// TestSidecarScopingCost measures what one model's sidecar receives from
// Istio's config generator (listeners, clusters and routes, in bytes of
// their protobuf encoding) in Apps of 10 and 1,000 models, with and without
// Namespace.ScopeSidecars, side by side in one run. It is a benchmark
// program, not a test of speed: it runs only with MLMESH_SCOPE_BENCH=1
// (make bench-scope) and asserts only what the configuration holds: the
// model store always, another model's Service only without scoping.
func TestSidecarScopingCost(t *testing.T) {
	if os.Getenv("MLMESH_SCOPE_BENCH") == "" {
		t.Skip("set MLMESH_SCOPE_BENCH=1 to measure a sidecar's configuration with and without scoping")
	}
	for _, scoped := range []bool{false, true} {
		for _, n := range []int{10, 1000} {
			start := time.Now()
			app := manyModels("scope", n)
			app.Namespace.ScopeSidecars = scoped
			app.Egress = []egress.Spec{egress.S3("store", "", "eu-west-1")}
			l, c, r, names := sidecarConfig(t, app)
			// What scoping keeps and drops: the model store always,
			// another model's Service only without scoping.
			if !names["outbound|443||s3.eu-west-1.amazonaws.com"] {
				t.Errorf("%d models, scoped %v: the sidecar has no cluster for its model store", n, scoped)
			}
			if other := "outbound|8501|v1|m001.scope.svc.cluster.local"; names[other] == scoped {
				t.Errorf("%d models, scoped %v: cluster %s present: %v", n, scoped, other, names[other])
			}
			t.Logf("ScopeSidecars %-5v %5d models: listeners %9d B, clusters %9d B, routes %9d B, total %9d B (%v)",
				scoped, n, l, c, r, l+c+r, time.Since(start).Round(time.Millisecond))
		}
	}
}

// sidecarConfig returns the sizes of the listeners, clusters and routes
// that the sidecar of model m000 (version v1) of app, in namespace scope,
// receives, and the names of its clusters.
func sidecarConfig(t *testing.T, app mesh.App) (listeners, clusters, routes int, names map[string]bool) {
	objs, err := mesh.Build(app)
	if err != nil {
		t.Fatal(err)
	}
	b, err := ParseBundle("scope", mustYAML(t, objs))
	if err != nil {
		t.Fatal(err)
	}
	kube, istio, err := configStrings(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	pods, err := Pods(b)
	if err != nil {
		t.Fatal(err)
	}
	kube = append(kube, string(pods))
	s := xds.NewFakeDiscoveryServer(t, xds.FakeOptions{
		KubernetesObjectString: strings.Join(kube, "\n---\n"),
		ConfigString:           strings.Join(istio, "\n---\n"),
	})
	labels := map[string]string{"app": "m000", "version": "v1"}
	meta := &model.NodeMetadata{IstioVersion: "1.31.1", Namespace: "scope", Labels: labels}
	p := s.SetupProxy(&model.Proxy{ConfigNamespace: "scope", Metadata: meta, Labels: labels, IPAddresses: []string{"10.1.0.1"}})
	for _, x := range s.Listeners(p) {
		listeners += proto.Size(x)
	}
	cs := s.Clusters(p)
	for _, x := range cs {
		clusters += proto.Size(x)
	}
	for _, x := range s.Routes(p) {
		routes += proto.Size(x)
	}
	names = map[string]bool{}
	for _, c := range cs {
		names[c.Name] = true
	}
	return listeners, clusters, routes, names
}

func mustYAML(t *testing.T, objs []render.Object) []byte {
	t.Helper()
	y, err := render.YAML(objs)
	if err != nil {
		t.Fatal(err)
	}
	return y
}

// TestSidecarScopeCalls: a scoped model's proxy reaches the models it calls
// (Model.Calls) and what their routes send to, and no other model.
func TestSidecarScopeCalls(t *testing.T) {
	app := manyModels("scope", 4)
	app.Namespace.ScopeSidecars = true
	app.Egress = []egress.Spec{egress.S3("store", "", "eu-west-1")} // where the models are read from
	app.Models[0].Calls = []string{"m001"}
	// m001 sends a header's requests to m002.
	app.Models[1].Traffic.Rules = append([]routing.Rule{{
		Match: []routing.Match{{Headers: map[string]routing.StringMatch{"x-big": routing.Exact("1")}}},
		Split: []routing.Destination{{Host: "m002", Subset: "v1"}},
	}}, app.Models[1].Traffic.Rules...)
	_, _, _, names := sidecarConfig(t, app)
	for cluster, want := range map[string]bool{
		"outbound|8501|v2|m001.scope.svc.cluster.local": true,
		"outbound|8501|v1|m002.scope.svc.cluster.local": true,
		"outbound|8501|v1|m003.scope.svc.cluster.local": false,
	} {
		if names[cluster] != want {
			t.Errorf("cluster %s: present %v, want %v", cluster, names[cluster], want)
		}
	}
}
