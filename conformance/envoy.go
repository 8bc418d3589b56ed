package conformance

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	route "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	"istio.io/istio/pilot/pkg/model"
	"istio.io/istio/pilot/test/xds"
	"istio.io/istio/pkg/test"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// Route is what Envoy does with one route of a route configuration, in a
// form a test can compare: the match as text, where the traffic goes (cluster
// name to weight, 100 for a single cluster), and the policies.
type Route struct {
	Match    string
	Clusters map[string]uint32
	Timeout  string
	Retries  string
	Mirrors  []string
	Headers  string // the header changes: "request set x-a=1; response remove server"
}

// RouteTable is the routes a proxy receives: route configuration name
// ("8501" on a sidecar, "http.80" on a gateway), then virtual host domain,
// then routes in order.
type RouteTable map[string]map[string][]Route

// EnvoyRoutes feeds a bundle to Istio's config generator and returns the
// routes a sidecar in namespace ns receives and, if gateway is set, the routes
// Istio's default ingress gateway receives.
func EnvoyRoutes(t test.Failer, b *Bundle, ns string, gateway bool) (sidecar, gw RouteTable, err error) {
	m, err := NewMesh(t, b, ns, gateway)
	if err != nil {
		return nil, nil, err
	}
	sidecar = table(m.Server.Routes(m.Sidecar))
	if m.Gateway != nil {
		gw = table(m.Server.Routes(m.Gateway))
	}
	return sidecar, gw, nil
}

// Mesh is Istio's config generator fed a bundle, with a sidecar proxy in a
// namespace and the bundle's gateway's proxy (nil without one).
type Mesh struct {
	Server  *xds.FakeDiscoveryServer
	Sidecar *model.Proxy
	Gateway *model.Proxy
}

// NewMesh feeds bundle b to the config generator with what the cluster
// would add (pods, gateway workloads, TLS Secrets, InferencePools' shadow
// Services), and sets up a sidecar in namespace ns and, if gateway is set
// or b has a Gateway API Gateway, the gateway's proxy.
func NewMesh(t test.Failer, b *Bundle, ns string, gateway bool) (*Mesh, error) {
	pods, err := Pods(b)
	if err != nil {
		return nil, err
	}
	kube, istio, err := configStrings(b, nil)
	if err != nil {
		return nil, err
	}
	kube = append(kube, string(pods), ingressGatewayKube)
	// A Gateway API Gateway is served by the Deployment Istio makes for it,
	// behind its Service <name>-istio: the proxy is that Deployment's pod.
	gwNS, gwLabels := "istio-system", map[string]string{"istio": "ingressgateway"}
	for _, o := range b.Objects {
		if o.GetKind() == "Gateway" && o.GroupVersionKind().Group == "gateway.networking.k8s.io" {
			gwNS, gwLabels = o.GetNamespace(), map[string]string{"gateway.networking.k8s.io/gateway-name": o.GetName()}
			kube = append(kube, managedGatewayKube(o), istioGatewayClass)
			kube = append(kube, listenerSecrets(o)...)
			gateway = true
		}
	}
	pools, withPools := inferencePoolKube(t, b)
	s := xds.NewFakeDiscoveryServer(t, xds.FakeOptions{
		KubernetesObjectString: strings.Join(append(kube, pools...), "\n---\n"),
		ConfigString:           strings.Join(istio, "\n---\n"),
		KubeClientModifier:     withPools,
	})
	meta := &model.NodeMetadata{IstioVersion: "1.31.1", Namespace: ns}
	m := &Mesh{Server: s}
	m.Sidecar = s.SetupProxy(&model.Proxy{ConfigNamespace: ns, Metadata: meta, IPAddresses: []string{"10.0.0.10"}})
	if gateway {
		gmeta := &model.NodeMetadata{IstioVersion: "1.31.1", Namespace: gwNS, Labels: gwLabels}
		m.Gateway = s.SetupProxy(&model.Proxy{
			Type: model.Router, ConfigNamespace: gwNS, Metadata: gmeta,
			Labels: gwLabels, IPAddresses: []string{"10.0.0.20"},
		})
	}
	return m, nil
}

// ingressGatewayKube is the ingress gateway's Service and pod for the config
// generator (it needs no namespace object).
var ingressGatewayKube = func() string {
	parts := strings.Split(IngressGatewayFixture, "---\n")
	return strings.Join(parts[1:], "---\n")
}()

func table(rcs []*route.RouteConfiguration) RouteTable {
	t := RouteTable{}
	for _, rc := range rcs {
		hosts := map[string][]Route{}
		for _, vh := range rc.VirtualHosts {
			var routes []Route
			for _, r := range vh.Routes {
				routes = append(routes, simplify(r))
			}
			for _, d := range vh.Domains {
				hosts[d] = routes
			}
		}
		t[rc.Name] = hosts
	}
	return t
}

func simplify(r *route.Route) Route {
	out := Route{Match: matchText(r.Match), Clusters: map[string]uint32{}, Headers: headerChanges(r)}
	ra := r.GetRoute()
	if ra == nil {
		switch {
		case r.GetDirectResponse() != nil:
			out.Clusters[fmt.Sprintf("direct-response:%d", r.GetDirectResponse().Status)] = 100
		case r.GetRedirect() != nil:
			out.Clusters["redirect"] = 100
		}
		return out
	}
	if c := ra.GetCluster(); c != "" {
		out.Clusters[c] = 100
	}
	if wc := ra.GetWeightedClusters(); wc != nil {
		for _, c := range wc.Clusters {
			out.Clusters[c.Name] = c.Weight.GetValue()
		}
	}
	if ra.Timeout != nil {
		out.Timeout = ra.Timeout.AsDuration().String()
	}
	if rp := ra.RetryPolicy; rp != nil {
		out.Retries = fmt.Sprintf("%d on %s", rp.NumRetries.GetValue(), rp.RetryOn)
		if rp.PerTryTimeout != nil {
			out.Retries += " per try " + rp.PerTryTimeout.AsDuration().String()
		}
	}
	for _, m := range ra.RequestMirrorPolicies {
		pct := ""
		if f := m.RuntimeFraction; f != nil {
			pct = fmt.Sprintf(" %d/%s", f.DefaultValue.GetNumerator(), f.DefaultValue.GetDenominator())
		}
		out.Mirrors = append(out.Mirrors, m.Cluster+pct)
	}
	return out
}

// headerChanges writes a route's header changes, sorted: "request set
// x-a=1", "request add x-b=2", "request remove x-c", and the same for the
// response.
func headerChanges(r *route.Route) string {
	var out []string
	add := func(dir string, hs []*core.HeaderValueOption, remove []string) {
		for _, h := range hs {
			op := "set"
			if h.AppendAction == core.HeaderValueOption_APPEND_IF_EXISTS_OR_ADD {
				op = "add"
			}
			out = append(out, fmt.Sprintf("%s %s %s=%s", dir, op, h.Header.GetKey(), h.Header.GetValue()))
		}
		for _, n := range remove {
			out = append(out, dir+" remove "+n)
		}
	}
	add("request", r.RequestHeadersToAdd, r.RequestHeadersToRemove)
	add("response", r.ResponseHeadersToAdd, r.ResponseHeadersToRemove)
	sort.Strings(out)
	return strings.Join(out, "; ")
}

// matchText writes a route match as "prefix=/ header[user-agent]~.*chrome.*"
// ("segments=/v1" for a prefix of whole path segments).
func matchText(m *route.RouteMatch) string {
	var parts []string
	switch p := m.PathSpecifier.(type) {
	case *route.RouteMatch_Prefix:
		parts = append(parts, "prefix="+p.Prefix)
	case *route.RouteMatch_Path:
		parts = append(parts, "path="+p.Path)
	case *route.RouteMatch_SafeRegex:
		parts = append(parts, "regex="+p.SafeRegex.Regex)
	case *route.RouteMatch_PathSeparatedPrefix:
		// Whole path segments: "/v1" takes "/v1" and "/v1/...", not "/v1x".
		parts = append(parts, "segments="+p.PathSeparatedPrefix)
	}
	var hs []string
	for _, h := range m.Headers {
		sm := h.GetStringMatch()
		switch {
		case sm == nil:
			hs = append(hs, "header["+h.Name+"]?")
		case sm.GetExact() != "":
			hs = append(hs, "header["+h.Name+"]="+sm.GetExact())
		case sm.GetPrefix() != "":
			hs = append(hs, "header["+h.Name+"]^"+sm.GetPrefix())
		case sm.GetSafeRegex() != nil:
			hs = append(hs, "header["+h.Name+"]~"+sm.GetSafeRegex().Regex)
		default:
			hs = append(hs, "header["+h.Name+"]")
		}
	}
	sort.Strings(hs)
	return strings.Join(append(parts, hs...), " ")
}

// Cluster is the Envoy cluster name Istio gives a subset of a host's port.
func Cluster(port int, subset, host string) string {
	return fmt.Sprintf("outbound|%d|%s|%s", port, subset, host)
}

// istioObjects returns the bundle's Istio objects of a kind.
func istioObjects(b *Bundle, kind string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, o := range b.Objects {
		if o.GetKind() == kind {
			out = append(out, o)
		}
	}
	return out
}

// configStrings splits a bundle, without the objects drop names
// ("Kind/name"), into the YAML documents of its Kubernetes objects and of
// its Istio objects, as the config generator's fake takes them.
// notForIstio is the group of the Inference Extension's alpha kinds
// (InferenceModelRewrite), which the endpoint pickers read and Istio does
// not: its config generator knows no such kind.
const notForIstio = "inference.networking.x-k8s.io"

func configStrings(b *Bundle, drop []string) (kube, istio []string, err error) {
	for _, o := range b.Objects {
		if slices.Contains(drop, o.GetKind()+"/"+o.GetName()) || o.GroupVersionKind().Group == notForIstio {
			continue
		}
		y, err := yaml.Marshal(o.Object)
		if err != nil {
			return nil, nil, err
		}
		if IsIstio(o) {
			istio = append(istio, string(y))
		} else {
			kube = append(kube, string(y))
		}
	}
	return kube, istio, nil
}

// istioGatewayClass is the GatewayClass istiod installs for its gateways.
const istioGatewayClass = `apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata:
  name: istio
spec:
  controllerName: istio.io/gateway-controller
`

// managedGatewayKube is the Service and pod Istio deploys for a Gateway
// API Gateway: <name>-istio in its namespace, a port per listener.
func managedGatewayKube(gw *unstructured.Unstructured) string {
	listeners, _, _ := unstructured.NestedSlice(gw.Object, "spec", "listeners")
	var ports strings.Builder
	seen := map[int64]bool{}
	for _, l := range listeners {
		port, _, _ := unstructured.NestedInt64(l.(map[string]any), "port")
		if seen[port] {
			continue
		}
		seen[port] = true
		fmt.Fprintf(&ports, "  - name: port-%d\n    port: %d\n", port, port)
	}
	return fmt.Sprintf(`apiVersion: v1
kind: Service
metadata:
  name: %[1]s-istio
  namespace: %[2]s
  labels:
    gateway.networking.k8s.io/gateway-name: %[1]s
spec:
  selector:
    gateway.networking.k8s.io/gateway-name: %[1]s
  ports:
%[3]s---
apiVersion: v1
kind: Pod
metadata:
  name: %[1]s-istio-0
  namespace: %[2]s
  labels:
    gateway.networking.k8s.io/gateway-name: %[1]s
spec:
  serviceAccountName: %[1]s-istio
  containers:
  - name: istio-proxy
    image: %[4]s
status:
  podIP: 10.0.0.20
  podIPs:
  - ip: 10.0.0.20
  phase: Running
  conditions:
  - type: Ready
    status: "True"
`, gw.GetName(), gw.GetNamespace(), ports.String(), ProxyImage)
}

// listenerSecrets are the TLS Secrets a Gateway API Gateway's listeners
// name, in its namespace, as the cluster's owner (or cert-manager) makes
// them: without them Istio does not program the listeners.
func listenerSecrets(gw *unstructured.Unstructured) []string {
	listeners, _, _ := unstructured.NestedSlice(gw.Object, "spec", "listeners")
	var out []string
	seen := map[string]bool{}
	for _, l := range listeners {
		refs, _, _ := unstructured.NestedSlice(l.(map[string]any), "tls", "certificateRefs")
		for _, r := range refs {
			name, _, _ := unstructured.NestedString(r.(map[string]any), "name")
			if name == "" || seen[name] {
				continue
			}
			seen[name] = true
			out = append(out, tlsSecret(name, gw.GetNamespace()))
		}
	}
	return out
}
