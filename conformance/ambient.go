package conformance

import (
	"fmt"
	"regexp"
	"strings"

	listener "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	route "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	hcm "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	"istio.io/istio/pilot/pkg/features"
	"istio.io/istio/pilot/pkg/model"
	"istio.io/istio/pilot/test/xds"
	"istio.io/istio/pkg/test"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// Ambient mode in Istio's config generator: the namespace's waypoint is a
// proxy of its own, whose main_internal listener has a filter chain per
// Service VIP and port it serves ("inbound-vip|8501|http|<host>"), each
// with its routes and policies inline.

// AmbientMesh is Istio's config generator fed an ambient bundle, with the
// proxies of its waypoint and of its Gateway API gateway (if any).
type AmbientMesh struct {
	Server   *xds.FakeDiscoveryServer
	Waypoint *model.Proxy
	Gateway  *model.Proxy // nil without a gateway
}

// NewAmbientMesh feeds bundle b, whose namespace is ambient with a waypoint,
// to the config generator, with what Istio and the cluster would add: the
// waypoint's Service and pod, its Gateway's address, the Gateway API
// gateway's Service, pod and TLS Secrets, and the pods of the models'
// Deployments, captured by ztunnel.
func NewAmbientMesh(t test.Failer, b *Bundle) (*AmbientMesh, error) {
	test.SetForTest(t, &features.EnableAmbient, true)
	test.SetForTest(t, &features.EnableIngressWaypointRouting, true)
	pods, err := Pods(b)
	if err != nil {
		return nil, err
	}
	var waypoint, gateway *unstructured.Unstructured
	var objs []string
	services := 0
	for _, o := range b.Objects {
		if o.GroupVersionKind().Group == notForIstio {
			continue
		}
		if o.GetKind() == "Service" {
			// The address the API server gives it, which a waypoint serves.
			o = o.DeepCopy()
			services++
			_ = unstructured.SetNestedField(o.Object, fmt.Sprintf("10.96.1.%d", services), "spec", "clusterIP")
		}
		if o.GetKind() == "Gateway" && o.GroupVersionKind().Group == "gateway.networking.k8s.io" {
			o = o.DeepCopy()
			class, _, _ := unstructured.NestedString(o.Object, "spec", "gatewayClassName")
			if class == "istio-waypoint" {
				waypoint = o
				// What Istio's gateway controller writes once it deployed it.
				_ = unstructured.SetNestedSlice(o.Object, []any{map[string]any{
					"type": "Hostname", "value": o.GetName() + "." + o.GetNamespace() + ".svc.cluster.local",
				}}, "status", "addresses")
			} else {
				gateway = o
			}
		}
		y, err := yaml.Marshal(o.Object)
		if err != nil {
			return nil, err
		}
		objs = append(objs, string(y))
	}
	if waypoint == nil {
		return nil, fmt.Errorf("%s: no waypoint", b.Name)
	}
	objs = append(objs, string(pods), waypointKube(waypoint))
	if gateway != nil {
		objs = append(objs, managedGatewayKube(gateway), istioGatewayClass)
		objs = append(objs, listenerSecrets(gateway)...)
	}
	pools, withPools := inferencePoolKube(t, b)
	objs = append(objs, pools...)
	// The ambient index reads Istio's objects as Kubernetes objects too.
	all := strings.Join(objs, "\n---\n")
	s := xds.NewFakeDiscoveryServer(t, xds.FakeOptions{KubernetesObjectString: all, ConfigString: all, KubeClientModifier: withPools})
	m := &AmbientMesh{Server: s}
	ns := waypoint.GetNamespace()
	wl := map[string]string{"gateway.networking.k8s.io/gateway-name": waypoint.GetName(), "gateway.istio.io/managed": "istio.io-mesh-controller"}
	m.Waypoint = s.SetupProxy(&model.Proxy{
		Type: model.Waypoint, ConfigNamespace: ns, Labels: wl,
		Metadata:    &model.NodeMetadata{IstioVersion: "1.31.1", Namespace: ns, Labels: wl},
		IPAddresses: []string{waypointIP},
	})
	if gateway != nil {
		gl := map[string]string{"gateway.networking.k8s.io/gateway-name": gateway.GetName()}
		m.Gateway = s.SetupProxy(&model.Proxy{
			Type: model.Router, ConfigNamespace: gateway.GetNamespace(), Labels: gl,
			Metadata:    &model.NodeMetadata{IstioVersion: "1.31.1", Namespace: gateway.GetNamespace(), Labels: gl},
			IPAddresses: []string{"10.0.0.20"},
		})
	}
	return m, nil
}

const waypointIP = "10.0.0.30"

// waypointKube is the Service and pod Istio deploys for a waypoint.
func waypointKube(wp *unstructured.Unstructured) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Service
metadata:
  name: %[1]s
  namespace: %[2]s
  labels:
    gateway.istio.io/managed: istio.io-mesh-controller
    gateway.networking.k8s.io/gateway-name: %[1]s
    istio.io/gateway-name: %[1]s
spec:
  clusterIP: 10.96.0.30
  ports:
  - appProtocol: hbone
    name: mesh
    port: 15008
  selector:
    gateway.networking.k8s.io/gateway-name: %[1]s
---
apiVersion: v1
kind: Pod
metadata:
  name: %[1]s-0
  namespace: %[2]s
  labels:
    gateway.networking.k8s.io/gateway-name: %[1]s
    gateway.istio.io/managed: istio.io-mesh-controller
spec:
  serviceAccountName: %[1]s
  containers:
  - name: istio-proxy
    image: %[3]s
status:
  podIP: %[4]s
  podIPs:
  - ip: %[4]s
  phase: Running
  conditions:
  - type: Ready
    status: "True"
`, wp.GetName(), wp.GetNamespace(), ProxyImage, waypointIP)
}

// WaypointChains returns the waypoint's HTTP filter chains of main_internal
// by name ("inbound-vip|8501|http|ranker.ranking.svc.cluster.local"), as
// their connection managers.
func (m *AmbientMesh) WaypointChains() map[string]*hcm.HttpConnectionManager {
	out := map[string]*hcm.HttpConnectionManager{}
	for _, l := range m.Server.Listeners(m.Waypoint) {
		if l.Name != "main_internal" {
			continue
		}
		for _, fc := range l.FilterChains {
			if c := chainHCM(fc); c != nil {
				out[fc.Name] = c
			}
		}
	}
	return out
}

func chainHCM(fc *listener.FilterChain) *hcm.HttpConnectionManager {
	for _, f := range fc.Filters {
		if f.Name != "envoy.filters.network.http_connection_manager" {
			continue
		}
		c := &hcm.HttpConnectionManager{}
		if err := f.GetTypedConfig().UnmarshalTo(c); err == nil {
			return c
		}
	}
	return nil
}

var vipChain = regexp.MustCompile(`^inbound-vip\|(\d+)\|http\|(.+)$`)

// WaypointRoutes returns the waypoint's routes in a sidecar's shape: route
// configuration by port, then the Service's host, its clusters named as a
// sidecar names a Service's (outbound|P||host): the waypoint's own
// inbound-vip|P|http|host clusters are the Services it serves.
func (m *AmbientMesh) WaypointRoutes() RouteTable {
	t := RouteTable{}
	for name, c := range m.WaypointChains() {
		v := vipChain.FindStringSubmatch(name)
		rc := c.GetRouteConfig()
		if v == nil || rc == nil {
			continue
		}
		var routes []Route
		for _, vh := range rc.VirtualHosts {
			for _, r := range vh.Routes {
				routes = append(routes, waypointRoute(r))
			}
		}
		if t[v[1]] == nil {
			t[v[1]] = map[string][]Route{}
		}
		t[v[1]][v[2]] = routes
	}
	return t
}

var vipCluster = regexp.MustCompile(`^inbound-vip\|(\d+)\|http\|(.+)$`)

func waypointRoute(r *route.Route) Route {
	out := simplify(r)
	rename := func(c string) string {
		if v := vipCluster.FindStringSubmatch(c); v != nil {
			return fmt.Sprintf("outbound|%s||%s", v[1], v[2])
		}
		return c
	}
	clusters := map[string]uint32{}
	for c, w := range out.Clusters {
		clusters[rename(c)] = w
	}
	out.Clusters = clusters
	for i, c := range out.Mirrors {
		name, pct, _ := strings.Cut(c, " ")
		out.Mirrors[i] = strings.TrimSpace(rename(name) + " " + pct)
	}
	return out
}

// GatewayRoutes returns the routes of the bundle's Gateway API gateway.
func (m *AmbientMesh) GatewayRoutes() RouteTable {
	if m.Gateway == nil {
		return nil
	}
	return table(m.Server.Routes(m.Gateway))
}
