package multicluster_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/mlmesh/mlmesh/apply/applytest"
	"github.com/mlmesh/mlmesh/internal/scenarios/regions"
	"github.com/mlmesh/mlmesh/mesh"
	"github.com/mlmesh/mlmesh/multicluster"
	"github.com/mlmesh/mlmesh/render"
	"github.com/mlmesh/mlmesh/render/rendertest"
	"github.com/mlmesh/mlmesh/routing"
	"github.com/mlmesh/mlmesh/serving"
)

// kinds lists a cluster's objects as "Kind/name".
func kinds(objs []render.Object) string {
	var out []string
	for _, o := range objs {
		out = append(out, o.GetObjectKind().GroupVersionKind().Kind+"/"+o.GetName())
	}
	return strings.Join(out, " ")
}

// TestBuild: each cluster gets the same routing and policy, its network on
// its pods, the east-west Gateway, and the workloads of the versions
// it runs with their replicas; the bytes are pinned per cluster.
func TestBuild(t *testing.T) {
	objs := fleetObjects(t)
	want := map[string]string{
		"eu-1":   "Namespace/fraud PeerAuthentication/default Service/fraud Deployment/fraud-v1 PodDisruptionBudget/fraud-v1 DestinationRule/fraud Gateway/cross-network-gateway VirtualService/fraud",
		"us-1":   "Namespace/fraud PeerAuthentication/default Service/fraud Deployment/fraud-v1 PodDisruptionBudget/fraud-v1 DestinationRule/fraud Gateway/cross-network-gateway VirtualService/fraud",
		"canary": "Namespace/fraud PeerAuthentication/default Service/fraud Deployment/fraud-v2 DestinationRule/fraud Gateway/cross-network-gateway VirtualService/fraud",
	}
	for c, w := range want {
		if got := kinds(objs[c]); got != w {
			t.Errorf("%s:\n got %s\nwant %s", c, got, w)
		}
		rendertest.Golden(t, objs[c], filepath.Join("testdata", c+".golden.yaml"))
	}
	// What every cluster shares is the same bytes in each.
	shared := map[string]string{}
	for c, list := range objs {
		for _, o := range list {
			k := o.GetObjectKind().GroupVersionKind().Kind + "/" + o.GetName()
			y, err := render.MarshalYAML(o)
			if err != nil {
				t.Fatal(err)
			}
			if prev, ok := shared[k]; ok && prev != string(y) && !strings.HasPrefix(k, "Deployment/") && !strings.HasPrefix(k, "PodDisruptionBudget/") {
				t.Errorf("%s differs in cluster %s", k, c)
			}
			shared[k] = string(y)
		}
	}
	// Each cluster's pods carry its network, where Istio reads it (the
	// App's namespace's label it does not read).
	for c, network := range map[string]string{"eu-1": "net-eu", "canary": "net-us"} {
		for _, o := range objs[c] {
			if d, ok := o.(*appsv1.Deployment); ok && d.Spec.Template.Labels[multicluster.NetworkLabel] != network {
				t.Errorf("%s: %s's pods are on network %q, want %q", c, d.Name, d.Spec.Template.Labels[multicluster.NetworkLabel], network)
			}
		}
	}
}

// TestOneNetwork: a fleet on one network gets no east-west Gateway and no
// network label.
func TestOneNetwork(t *testing.T) {
	app, f := regions.Fleet()
	for i := range f.Clusters {
		f.Clusters[i].Network = ""
	}
	objs, err := multicluster.Build(app, f)
	if err != nil {
		t.Fatal(err)
	}
	if k := kinds(objs["us-1"]); strings.Contains(k, "cross-network-gateway") {
		t.Errorf("one network, yet: %s", k)
	}
	for _, o := range objs["us-1"] {
		if d, ok := o.(*appsv1.Deployment); ok && d.Spec.Template.Labels[multicluster.NetworkLabel] != "" {
			t.Errorf("one network, yet %s's pods are labelled with one", d.Name)
		}
	}
}

// TestValidate: each bad fleet is refused at its field.
func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(*mesh.App, *multicluster.Fleet)
		want   string
	}{
		{"a version in an unknown cluster", func(_ *mesh.App, f *multicluster.Fleet) { f.Placement[1].Replicas["us-2"] = 1 },
			`placement[1].replicas[us-2]: "us-2" not found: a cluster of the fleet`},
		{"a cluster without a network", func(_ *mesh.App, f *multicluster.Fleet) { f.Clusters[2].Network = "" },
			"clusters[2].network: required: the fleet spans networks ([net-eu net-us]): every cluster names its own"},
		{"failover to a region with no replicas", func(_ *mesh.App, f *multicluster.Fleet) { f.Clusters[0].Region = "europe-north1" },
			`models[0].traffic.policy.loadBalancer.failover[1].to: invalid value "europe-west1": no cluster of the region runs the model`},
		{"a weight to a version placed nowhere", func(_ *mesh.App, f *multicluster.Fleet) { f.Placement = f.Placement[:1] },
			`models[0].traffic.rules[0].split[1]: invalid value "v2": the version runs in no cluster of the fleet`},
		{"a region's share to a version only elsewhere, no failover from it", func(a *mesh.App, _ *multicluster.Fleet) {
			a.Models[0].Traffic.Policy.LoadBalancer.Failover = a.Models[0].Traffic.Policy.LoadBalancer.Failover[1:] // us-east1 to europe-west1 alone
		}, `models[0].traffic.rules[0].split[1]: invalid value "v2": no cluster of region europe-west1 runs the version, and the model fails europe-west1 over to no region that does`},
		{"plain text to a version on another network", func(a *mesh.App, _ *multicluster.Fleet) {
			a.Namespace.MTLS = mesh.MTLSPermissive
			a.Models[0].Traffic.Policy.TLS = routing.TLSDisable
		}, `models[0].traffic.rules[0].split[1]: invalid value "v2": no cluster of network net-eu runs the version, and the model's clients use TLS DISABLE`},
		{"a version of no model", func(_ *mesh.App, f *multicluster.Fleet) { f.Placement[1].Version = "v3" }, `placement[1].version: "v3" not found`},
		{"a version placed twice", func(_ *mesh.App, f *multicluster.Fleet) { f.Placement[1].Version = "v1" }, "placement[1]: invalid value \"fraud/v1\": placed already by placement[0]"},
		{"two clusters of one name", func(_ *mesh.App, f *multicluster.Fleet) { f.Clusters[2].Name = "us-1" }, `clusters[2].name: duplicate value "us-1"`},
		{"failover without outlier detection", func(a *mesh.App, _ *multicluster.Fleet) { a.Models[0].Traffic.Policy.OutlierDetection = nil },
			"models[0].traffic.policy.outlierDetection: required: locality failover needs outlier detection"},
		{"negative replicas", func(_ *mesh.App, f *multicluster.Fleet) { f.Placement[0].Replicas["eu-1"] = -1 }, `placement[0].replicas[eu-1]: invalid value "-1"`},
		{"no clusters", func(_ *mesh.App, f *multicluster.Fleet) { f.Clusters = nil }, "clusters: required"},
		{"replicas of an autoscaled version", func(a *mesh.App, _ *multicluster.Fleet) {
			a.Models[0].Versions[0].Replicas = nil
			a.Models[0].Versions[0].Autoscaling = &serving.Autoscaling{Min: 2, Max: 4, Metrics: []autoscalingv2.MetricSpec{serving.PodsMetric("istio_requests_per_second", resource.MustParse("2"))}}
		}, `placement[0].replicas[eu-1]: invalid value "3": the version is autoscaled: give 0`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			app, f := regions.Fleet()
			tc.mutate(&app, &f)
			_, err := multicluster.Build(app, f)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%v\nwant %q", err, tc.want)
			}
		})
	}
	// Istio's mutual TLS crosses networks; a region failed over to
	// one that runs the version may send its share there.
	app, f := regions.Fleet()
	app.Models[0].Traffic.Policy.TLS = routing.TLSIstioMutual
	if _, err := multicluster.Build(app, f); err != nil {
		t.Errorf("Istio's mutual TLS, failover both ways: %v", err)
	}
	// A version with no weight may run nowhere (it is dark everywhere).
	app, f = regions.Fleet()
	app.Models[0].Traffic.Rules = []routing.Rule{{Split: []routing.Destination{{Subset: "v1"}}}}
	f.Placement = f.Placement[:1]
	if _, err := multicluster.Build(app, f); err != nil {
		t.Errorf("a dark version placed nowhere: %v", err)
	}
}

// TestWriteDir: one directory per cluster, one file per object.
func TestWriteDir(t *testing.T) {
	objs := fleetObjects(t)
	dir := t.TempDir()
	dirs, err := multicluster.WriteDir(dir, objs)
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) != 3 || filepath.Base(dirs[0]) != "canary" {
		t.Errorf("dirs %v", dirs)
	}
	files, _ := os.ReadDir(filepath.Join(dir, "eu-1"))
	if len(files) != len(objs["eu-1"]) {
		t.Errorf("eu-1: %d files for %d objects", len(files), len(objs["eu-1"]))
	}
}

// TestWriteKustomize: the base holds what every cluster has alike, each
// overlay the base and the cluster's own; together they are the cluster's
// objects, each once. (The conformance suite builds the overlays with
// kustomize itself.)
func TestWriteKustomize(t *testing.T) {
	objs := fleetObjects(t)
	dir := t.TempDir()
	overlays, err := multicluster.WriteKustomize(dir, objs)
	if err != nil {
		t.Fatal(err)
	}
	if len(overlays) != 3 {
		t.Fatalf("overlays %v", overlays)
	}
	base, err := os.ReadFile(filepath.Join(dir, "base", "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	k, err := os.ReadFile(filepath.Join(dir, "overlays", "canary", "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"virtualservice", "destinationrule", "service-fraud"} {
		if !strings.Contains(strings.ToLower(string(base)), want) {
			t.Errorf("the base lists no %s:\n%s", want, base)
		}
	}
	if !strings.Contains(string(k), "- ../../base\n") || !strings.Contains(strings.ToLower(string(k)), "deployment-fraud-fraud-v2") || strings.Contains(strings.ToLower(string(k)), "virtualservice") {
		t.Errorf("the canary overlay:\n%s", k)
	}
}

// fleetObjects are regions.Fleet's objects, by cluster.
func fleetObjects(t *testing.T) map[string][]render.Object {
	t.Helper()
	objs, err := multicluster.Build(regions.Fleet())
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// TestCheck: the fleet as built passes; a DestinationRule missing in one
// cluster, or different there, is refused with the cluster and object
// named, and Apply sends nothing.
func TestCheck(t *testing.T) {
	if err := multicluster.Check(fleetObjects(t)); err != nil {
		t.Fatalf("the fleet as built: %v", err)
	}
	for _, tc := range []struct {
		name   string
		mutate func(map[string][]render.Object)
		want   string
	}{
		{"no DestinationRule in eu-1", func(objs map[string][]render.Object) {
			objs["eu-1"] = slices.DeleteFunc(objs["eu-1"], func(o render.Object) bool { return o.GetObjectKind().GroupVersionKind().Kind == "DestinationRule" })
		}, "eu-1: VirtualService fraud/fraud http[0] -> fraud.fraud.svc.cluster.local: subset v1 is in no DestinationRule"},
		{"the clusters disagree on a DestinationRule", func(objs map[string][]render.Object) {
			for _, o := range objs["us-1"] {
				if dr, ok := o.(*networkingv1.DestinationRule); ok {
					dr.Spec.TrafficPolicy = nil
				}
			}
		}, `objects[us-1][DestinationRule fraud/fraud]: invalid value "DestinationRule fraud/fraud": differs from cluster canary's`},
		{"v2's pods in no cluster", func(objs map[string][]render.Object) {
			objs["canary"] = slices.DeleteFunc(objs["canary"], func(o render.Object) bool { return o.GetName() == "fraud-v2" })
		}, "subset v2 selects no Deployment's pods"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs := fleetObjects(t)
			tc.mutate(objs)
			err := multicluster.Check(objs)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("%v\nwant %q", err, tc.want)
			}
			clients, counters, _, _ := fleetClients()
			if _, err := multicluster.Apply(context.Background(), clients, objs, multicluster.ApplyOptions{}); err == nil {
				t.Error("Apply applied them")
			}
			for c, n := range counters {
				if got := n.Counts(); got != (applytest.Counts{}) {
					t.Errorf("%s: %+v requests", c, got)
				}
			}
		})
	}
}

// TestPrimaryRemote: a remote cluster gets its Namespace, Services and
// workloads, and no Istio configuration, which its primary holds; a
// primary that is no cluster, or a remote one, is refused at the field.
func TestPrimaryRemote(t *testing.T) {
	app, f := regions.Fleet()
	f.Clusters[2].Primary = "us-1"
	objs, err := multicluster.Build(app, f)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := kinds(objs["canary"]), "Namespace/fraud Service/fraud Deployment/fraud-v2"; got != want {
		t.Errorf("the remote cluster:\n got %s\nwant %s", got, want)
	}
	if got := kinds(objs["us-1"]); !strings.Contains(got, "DestinationRule/fraud") || !strings.Contains(got, "VirtualService/fraud") {
		t.Errorf("its primary: %s", got)
	}
	if err := multicluster.Check(objs); err != nil {
		t.Errorf("Check: %v", err)
	}
	for _, tc := range []struct {
		primary, want string
	}{
		{"us-2", `clusters[2].primary: "us-2" not found: a primary cluster of the fleet`},
		{"eu-1", `clusters[2].primary: invalid value "eu-1": a remote cluster itself (its primary is us-1)`},
	} {
		app, f := regions.Fleet()
		f.Clusters[0].Primary = "us-1"
		f.Clusters[2].Primary = tc.primary
		if _, err := multicluster.Build(app, f); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("primary %s: %v\nwant %q", tc.primary, err, tc.want)
		}
	}
}
