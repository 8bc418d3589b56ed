package conformance

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	"istio.io/istio/pilot/pkg/model"
	"istio.io/istio/pilot/test/xds"
	"istio.io/istio/pkg/cluster"
	"istio.io/istio/pkg/network"
	"istio.io/istio/pkg/test/util/retry"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/mlmesh/mlmesh/internal/scenarios/regions"
	"github.com/mlmesh/mlmesh/multicluster"
	"github.com/mlmesh/mlmesh/render"
	"github.com/mlmesh/mlmesh/routing"
)

// The fleet's regions and east-west gateway addresses, by cluster, as the
// fixture places them.
var fleetFixture = map[string]struct {
	region, network, gateway string
	subnet                   int
}{
	"eu-1":   {"europe-west1", "net-eu", "192.0.2.1", 1},
	"us-1":   {"us-east1", "net-us", "192.0.2.2", 2},
	"canary": {"us-east1", "net-us", "192.0.2.3", 3},
	"asia-1": {"asia-east1", "net-asia", "192.0.2.4", 4},
}

// fleetKube is one cluster's Kubernetes objects for Istio's config
// generator: those mlmesh built (Services, Deployments) and what the
// cluster itself holds — a running pod of each Deployment in the
// cluster's region, the Service's EndpointSlice, and the east-west
// gateway's Service on the cluster's network, with its address.
func fleetKube(t *testing.T, c string, objs []render.Object, systemNetwork bool) string {
	t.Helper()
	fx := fleetFixture[c]
	var out []string
	add := func(o map[string]any) {
		y, err := yaml.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(y))
	}
	var endpoints []any
	for i, o := range objs {
		y, err := render.MarshalYAML(o)
		if err != nil {
			t.Fatal(err)
		}
		u := map[string]any{}
		if err := yaml.Unmarshal(y, &u); err != nil {
			t.Fatal(err)
		}
		switch o.GetObjectKind().GroupVersionKind().Kind {
		case "Namespace", "Service":
			out = append(out, string(y))
		case "Deployment":
			podLabels, _, _ := unstructured.NestedStringMap(u, "spec", "template", "metadata", "labels")
			podLabels["istio-locality"] = fx.region
			podLabels["security.istio.io/tlsMode"] = "istio"
			ip := fmt.Sprintf("10.%d.0.%d", fx.subnet, i)
			add(map[string]any{"apiVersion": "v1", "kind": "Pod",
				"metadata": map[string]any{"name": o.GetName() + "-0", "namespace": o.GetNamespace(), "labels": podLabels},
				"spec":     map[string]any{"containers": []any{map[string]any{"name": "model", "image": "model"}}},
				"status":   map[string]any{"phase": "Running", "podIP": ip, "podIPs": []any{map[string]any{"ip": ip}}, "conditions": []any{map[string]any{"type": "Ready", "status": "True"}}},
			})
			endpoints = append(endpoints, map[string]any{"addresses": []any{ip}, "conditions": map[string]any{"ready": true},
				"targetRef": map[string]any{"kind": "Pod", "name": o.GetName() + "-0", "namespace": o.GetNamespace()}})
		}
	}
	add(map[string]any{"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
		"metadata":    map[string]any{"name": "fraud-" + c, "namespace": "fraud", "labels": map[string]any{"kubernetes.io/service-name": "fraud"}},
		"addressType": "IPv4", "endpoints": endpoints,
		"ports": []any{map[string]any{"name": "grpc", "port": 8500, "protocol": "TCP"}, map[string]any{"name": "http", "port": 8501, "protocol": "TCP"}},
	})
	if systemNetwork {
		add(map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": "istio-system", "labels": map[string]any{multicluster.NetworkLabel: fx.network}}})
	}
	add(map[string]any{"apiVersion": "v1", "kind": "Service",
		"metadata": map[string]any{"name": "istio-eastwestgateway", "namespace": "istio-system", "labels": map[string]any{multicluster.NetworkLabel: fx.network, "istio": "eastwestgateway"}},
		"spec":     map[string]any{"type": "LoadBalancer", "selector": map[string]any{"istio": "eastwestgateway"}, "ports": []any{map[string]any{"name": "tls", "port": 15443}}},
		"status":   map[string]any{"loadBalancer": map[string]any{"ingress": []any{map[string]any{"ip": fx.gateway}}}},
	})
	return strings.Join(out, "\n---\n")
}

// fleetEndpoints is what Istio's config generator, given all three
// clusters' Kubernetes objects (its multi-cluster discovery) and one
// cluster's Istio configuration, sends a sidecar of that cluster for each
// subset of fraud's HTTP port: "locality priority address[,address]", one
// entry a locality, sorted.
func fleetEndpoints(t *testing.T, objs map[string][]render.Object, from string) map[string][]string {
	t.Helper()
	return fleetEndpointsOpts(t, objs, from, true)
}

// fleetEndpointsOpts is fleetEndpoints, with the clusters' istio-system
// namespaces labelled with their networks (as Istio's install does) or not.
func fleetEndpointsOpts(t *testing.T, objs map[string][]render.Object, from string, systemNetwork bool) map[string][]string {
	t.Helper()
	kube := map[cluster.ID]string{}
	for c, list := range objs {
		kube[cluster.ID(c)] = fleetKube(t, c, list, systemNetwork)
	}
	b := fleetBundle(t, objs[from])
	_, istio, err := configStrings(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := xds.NewFakeDiscoveryServer(t, xds.FakeOptions{
		DefaultClusterName:              cluster.ID(from),
		KubernetesObjectStringByCluster: kube,
		ConfigString:                    strings.Join(istio, "\n---\n"),
	})
	fx := fleetFixture[from]
	proxy := s.SetupProxy(&model.Proxy{
		ConfigNamespace: "fraud", IPAddresses: []string{"10.99.0.1"},
		Locality: &core.Locality{Region: fx.region},
		Metadata: &model.NodeMetadata{IstioVersion: "1.31.1", Namespace: "fraud", ClusterID: cluster.ID(from), Network: network.ID(fx.network)},
	})
	got := map[string][]string{}
	retry.UntilSuccessOrFail(t, func() error {
		got = map[string][]string{}
		for _, cla := range s.Endpoints(proxy) {
			for _, v := range []string{"v1", "v2"} {
				if cla.ClusterName != Cluster(8501, v, "fraud.fraud.svc.cluster.local") {
					continue
				}
				for _, le := range cla.Endpoints {
					var addrs []string
					for _, e := range le.LbEndpoints {
						sa := e.GetEndpoint().GetAddress().GetSocketAddress()
						addrs = append(addrs, fmt.Sprintf("%s:%d", sa.GetAddress(), sa.GetPortValue()))
					}
					sort.Strings(addrs)
					got[v] = append(got[v], fmt.Sprintf("%s %d %s", le.GetLocality().GetRegion(), le.GetPriority(), strings.Join(addrs, ",")))
				}
				sort.Strings(got[v])
			}
		}
		if len(got["v1"]) == 0 || len(got["v2"]) == 0 {
			return fmt.Errorf("no endpoints yet: %v", got)
		}
		return nil
	})
	return got
}

func fleetBundle(t *testing.T, objs []render.Object) *Bundle {
	t.Helper()
	y, err := render.YAML(objs)
	if err != nil {
		t.Fatal(err)
	}
	b, err := ParseBundle("fleet", y)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestFleetFailover runs Istio's config generator on the whole fleet at
// once — the Kubernetes objects of all three clusters through its
// multi-cluster discovery, as istiod sees them, with a pod of each version
// where it is placed and each cluster's east-west gateway — and one
// cluster's Istio configuration, and reads the endpoints it sends a
// sidecar of that cluster for fraud's subsets: the locality failover
// (europe-west1 to us-east1 and back) reaches Envoy as priorities (the
// sidecar's own region first, the region it fails over to next), and the
// other network's pods are reached through its east-west gateway (port
// 15443) — the same network's directly — since the pods carry their
// network. With a third region the region a failover names comes second,
// the other third. The negative controls: without the DestinationRule's
// locality settings both regions come first alike; with neither the pods
// nor istio-system naming a network, the other network's pods are taken
// for the sidecar's own and dialled directly, which across networks has no
// route.
func TestFleetFailover(t *testing.T) {
	app, f := regions.Fleet()
	objs, err := multicluster.Build(app, f)
	if err != nil {
		t.Fatal(err)
	}
	eu := fleetEndpoints(t, objs, "eu-1")
	t.Logf("from eu-1: %v", eu)
	if want := []string{"europe-west1 0 10.1.0.3:8501", "us-east1 1 192.0.2.2:15443"}; !slices.Equal(eu["v1"], want) {
		t.Errorf("eu-1's sidecar, v1: %v, want %v", eu["v1"], want)
	}
	if want := []string{"us-east1 0 192.0.2.3:15443"}; !slices.Equal(eu["v2"], want) { // its one locality
		t.Errorf("eu-1's sidecar, v2: %v, want %v", eu["v2"], want)
	}
	us := fleetEndpoints(t, objs, "us-1")
	t.Logf("from us-1: %v", us)
	if want := []string{"europe-west1 1 192.0.2.1:15443", "us-east1 0 10.2.0.3:8501"}; !slices.Equal(us["v1"], want) {
		t.Errorf("us-1's sidecar, v1: %v, want %v", us["v1"], want)
	}

	if want := []string{"us-east1 0 10.3.0.3:8501"}; !slices.Equal(us["v2"], want) {
		t.Errorf("us-1's sidecar, v2 (the canary cluster, its own network: direct): %v, want %v", us["v2"], want)
	}
	// The pods' own label is enough: with istio-system unlabelled, the
	// other network is still reached through its gateway.
	if got := fleetEndpointsOpts(t, objs, "eu-1", false); !slices.Equal(got["v1"], eu["v1"]) {
		t.Errorf("the pods' network label alone: %v, want %v", got["v1"], eu["v1"])
	}
	// With a third region, the region a failover names comes second and
	// the other last; the other way round when it names the other.
	for to, want := range map[string][]string{
		"us-east1":   {"asia-east1 2 192.0.2.4:15443", "europe-west1 0 10.1.0.3:8501", "us-east1 1 192.0.2.2:15443"},
		"asia-east1": {"asia-east1 1 192.0.2.4:15443", "europe-west1 0 10.1.0.3:8501", "us-east1 2 192.0.2.2:15443"},
	} {
		t.Run("europe-west1 fails over to "+to, func(t *testing.T) {
			app, f := regions.Fleet()
			f.Clusters = append(f.Clusters, multicluster.Cluster{Name: "asia-1", Network: "net-asia", Region: "asia-east1"})
			f.Placement[0].Replicas["asia-1"] = 1
			app.Models[0].Traffic.Rules[0].Split = routing.SplitOf(map[string]int32{"v1": 100}) // v2 runs in us-east1 alone
			app.Models[0].Traffic.Policy.LoadBalancer.Failover = []routing.LocalityFailover{{From: "europe-west1", To: to}, {From: "us-east1", To: "europe-west1"}}
			objs, err := multicluster.Build(app, f)
			if err != nil {
				t.Fatal(err)
			}
			if got := fleetEndpoints(t, objs, "eu-1"); !slices.Equal(got["v1"], want) {
				t.Errorf("eu-1's sidecar, v1: %v, want %v", got["v1"], want)
			}
		})
	}
	t.Run("negative control: no locality failover", func(t *testing.T) {
		app, f := regions.Fleet()
		app.Models[0].Traffic.Policy = nil
		objs, err := multicluster.Build(app, f)
		if err != nil {
			t.Fatal(err)
		}
		got := fleetEndpoints(t, objs, "eu-1")
		if want := []string{"europe-west1 0 10.1.0.3:8501", "us-east1 0 192.0.2.2:15443"}; !slices.Equal(got["v1"], want) {
			t.Errorf("without the DestinationRule's locality settings: %v, want both regions first (%v)", got["v1"], want)
		}
	})
	t.Run("negative control: no network on the pods or the cluster", func(t *testing.T) {
		bare := map[string][]render.Object{}
		for c, list := range objs {
			for _, o := range list {
				if d, ok := o.(*appsv1.Deployment); ok {
					d = d.DeepCopy()
					delete(d.Spec.Template.Labels, multicluster.NetworkLabel)
					o = d
				}
				bare[c] = append(bare[c], o)
			}
		}
		got := fleetEndpointsOpts(t, bare, "eu-1", false)
		t.Logf("from eu-1: %v", got)
		if slices.ContainsFunc(got["v1"], func(e string) bool { return strings.Contains(e, ":15443") }) {
			t.Errorf("pods of no network are still reached through a gateway: %v", got["v1"])
		}
	})
}
