package ingress

import (
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/mlmesh/mlmesh/internal/check"
	"github.com/mlmesh/mlmesh/internal/fielderr"
	"github.com/mlmesh/mlmesh/internal/fieldpath"
	"github.com/mlmesh/mlmesh/internal/labels"
	"github.com/mlmesh/mlmesh/internal/order"
	"github.com/mlmesh/mlmesh/names"
)

// The Gateway API dialect of a Spec: a Gateway of class "istio", which
// Istio deploys itself (a Deployment and Service <name>-istio in the
// Gateway's namespace), with one listener per server and host. Servers'
// TLS certificates are Secrets of the Gateway's namespace. What the
// standard channel cannot say is refused: a Selector (the Gateway gets its
// own pods), mutual TLS (frontend validation is experimental), "ns/host"
// server hosts (routes are admitted by allowedRoutes instead).

// GatewayClass is the Gateway API class of Istio's gateways.
const GatewayClass = "istio"

// listenerName is the name of listener k (a host) of server s: the
// server's name, and the host's index when it has several.
func listenerName(s Server, k int) string {
	if len(s.Hosts) <= 1 {
		return s.name()
	}
	return fmt.Sprintf("%s-%d", s.name(), k)
}

// ValidateGatewayAPI reports what of g the Gateway API dialect cannot say,
// beyond Validate's problems, as a *ValidationError, or nil.
func (g Spec) ValidateGatewayAPI() error {
	var errs field.ErrorList
	if len(g.Selector) > 0 {
		errs = append(errs, field.Forbidden(fieldpath.New("selector").Field(), "a Gateway API Gateway gets pods of its own, which Istio deploys: no selector"))
	}
	for i, s := range g.Servers {
		p := fieldpath.New("servers").Index(i)
		if s.TLS != nil && s.TLS.Mode == TLSMutual {
			errs = append(errs, field.Forbidden(p.Child("tls").Child("mode").Field(), "mutual TLS on a Gateway API listener is experimental: use the Istio dialect"))
		}
		for k, h := range s.Hosts {
			switch {
			case strings.Contains(h, "/"):
				errs = append(errs, field.Invalid(p.Child("hosts").Index(k).Field(), h, "a host without a namespace: Gateway API admits routes by namespace itself"))
			case s.protocol() == TCP && h != "*":
				// The Gateway API's CRD: "hostname must not be specified
				// for protocols TCP, UDP".
				errs = append(errs, field.Invalid(p.Child("hosts").Index(k).Field(), h, "\"*\": a Gateway API TCP listener has no hostname, it takes every connection on its port"))
			}
		}
		if s.protocol() == GRPC || s.protocol() == HTTP2 {
			errs = append(errs, field.NotSupported(p.Child("protocol").Field(), s.Protocol, []Protocol{HTTP, HTTPS, TLS, TCP}))
		}
	}
	return fielderr.New("ingress.Spec", errs)
}

// GatewayAPIGateway validates g and returns it as a Gateway API Gateway of
// class istio. Routes of routeNamespace ("" is the Gateway's own) may
// attach to its listeners.
func GatewayAPIGateway(g Spec, routeNamespace string) (*gatewayv1.Gateway, error) {
	if err := g.Validate(); err != nil {
		return nil, err
	}
	if err := g.ValidateGatewayAPI(); err != nil {
		return nil, err
	}
	gw := &gatewayv1.Gateway{
		TypeMeta:   metav1.TypeMeta{APIVersion: "gateway.networking.k8s.io/v1", Kind: "Gateway"},
		ObjectMeta: g.meta(),
	}
	gw.Spec.GatewayClassName = GatewayClass
	for _, s := range g.Servers {
		for k, h := range s.Hosts {
			gw.Spec.Listeners = append(gw.Spec.Listeners, g.listener(s, k, h, routeNamespace))
		}
	}
	return gw, nil
}

func (g Spec) listener(s Server, k int, host, routeNamespace string) gatewayv1.Listener {
	l := gatewayv1.Listener{Name: gatewayv1.SectionName(listenerName(s, k)), Port: gatewayv1.PortNumber(s.Port)}
	if host != "*" {
		h := gatewayv1.Hostname(host)
		l.Hostname = &h
	}
	switch s.protocol() {
	case HTTPS:
		l.Protocol = gatewayv1.HTTPSProtocolType
	case TLS:
		l.Protocol = gatewayv1.TLSProtocolType
	case TCP:
		l.Protocol = gatewayv1.TCPProtocolType
	default:
		l.Protocol = gatewayv1.HTTPProtocolType
	}
	if t := s.TLS; t != nil && s.protocol() != HTTP {
		mode := gatewayv1.TLSModeTerminate
		if t.Mode == TLSPassthrough {
			mode = gatewayv1.TLSModePassthrough
		}
		l.TLS = &gatewayv1.ListenerTLSConfig{Mode: &mode}
		if t.CredentialName != "" {
			// Group and kind as the API server defaults them: the list is
			// atomic, and what the cluster stores is what is applied.
			group, kind := gatewayv1.Group(""), gatewayv1.Kind("Secret")
			l.TLS.CertificateRefs = []gatewayv1.SecretObjectReference{{Group: &group, Kind: &kind, Name: gatewayv1.ObjectName(t.CredentialName)}}
		}
	}
	// The API server's default (routes of the Gateway's namespace) is
	// written out: what the cluster stores, so that applying again changes
	// nothing.
	from := gatewayv1.NamespacesFromSame
	l.AllowedRoutes = &gatewayv1.AllowedRoutes{Namespaces: &gatewayv1.RouteNamespaces{From: &from}}
	if routeNamespace != "" && routeNamespace != g.namespace() {
		from = gatewayv1.NamespacesFromSelector
		l.AllowedRoutes.Namespaces.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": routeNamespace}}
	}
	return l
}

// HTTPSRedirectRoute validates g and returns, for its servers with
// HTTPSRedirect, the Gateway API form of the redirect: an HTTPRoute
// <name>-https-redirect attached to their listeners that answers every
// request with a 301 to https; nil when no server redirects.
func HTTPSRedirectRoute(g Spec) (*gatewayv1.HTTPRoute, error) {
	if err := g.Validate(); err != nil {
		return nil, err
	}
	var parents []gatewayv1.ParentReference
	ns := gatewayv1.Namespace(g.namespace())
	for _, s := range g.Servers {
		if !s.HTTPSRedirect {
			continue
		}
		for k := range s.Hosts {
			section := gatewayv1.SectionName(listenerName(s, k))
			parents = append(parents, gatewayv1.ParentReference{Namespace: &ns, Name: gatewayv1.ObjectName(g.Name), SectionName: &section})
		}
	}
	if len(parents) == 0 {
		return nil, nil
	}
	r := &gatewayv1.HTTPRoute{
		TypeMeta:   metav1.TypeMeta{APIVersion: "gateway.networking.k8s.io/v1", Kind: "HTTPRoute"},
		ObjectMeta: g.meta(),
	}
	r.Name = names.HTTPSRedirect(g.Name)
	r.Spec.ParentRefs = parents
	scheme, code := "https", 301
	r.Spec.Rules = []gatewayv1.HTTPRouteRule{{Filters: []gatewayv1.HTTPRouteFilter{{
		Type:            gatewayv1.HTTPRouteFilterRequestRedirect,
		RequestRedirect: &gatewayv1.HTTPRequestRedirectFilter{Scheme: &scheme, StatusCode: &code},
	}}}}
	return r, nil
}

// WaypointPort is the HBONE port of a waypoint's listener.
const WaypointPort = 15008

// WaypointSpec is an ambient namespace's waypoint. The zero value is the
// waypoint "waypoint" of namespace "default".
type WaypointSpec struct {
	// Name is the waypoint's name, and that of the Deployment, Service and
	// service account Istio makes for it: a DNS-1035 label. Empty means
	// names.Waypoint.
	Name string
	// Namespace is the namespace whose Services use it; empty means
	// "default".
	Namespace string
	// Labels are added to the Gateway's own.
	Labels map[string]string
}

// Validate reports every problem of s at once, as a *ValidationError, or
// nil.
func (s WaypointSpec) Validate() error {
	var errs field.ErrorList
	if s.Name != "" {
		for _, msg := range validation.IsDNS1035Label(s.Name) {
			errs = append(errs, field.Invalid(field.NewPath("name"), s.Name, msg+" (the name of the waypoint's Service)"))
		}
	}
	if s.Namespace != "" {
		errs = append(errs, check.Name(fieldpath.New("namespace"), s.Namespace)...)
	}
	errs = append(errs, check.Labels(fieldpath.New("labels"), s.Labels)...)
	return fielderr.New("ingress.WaypointSpec", errs)
}

// Waypoint validates s and returns the waypoint of an ambient namespace: a
// Gateway of class istio-waypoint with its HBONE listener, for the traffic
// of Services (istio.io/waypoint-for: service), as `istioctl waypoint
// generate` writes it. Istio deploys it, as a Deployment, Service and
// service account of its name. Services use it through their
// istio.io/use-waypoint label.
func Waypoint(s WaypointSpec) (*gatewayv1.Gateway, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if s.Name == "" {
		s.Name = names.Waypoint
	}
	if s.Namespace == "" {
		s.Namespace = "default"
	}
	gw := &gatewayv1.Gateway{
		TypeMeta: metav1.TypeMeta{APIVersion: "gateway.networking.k8s.io/v1", Kind: "Gateway"},
		ObjectMeta: metav1.ObjectMeta{Name: s.Name, Namespace: s.Namespace,
			Labels: labels.Merge(s.Labels, map[string]string{labels.ManagedBy: labels.Manager, labels.WaypointFor: "service"})},
	}
	gw.Spec.GatewayClassName = order.WaypointClass
	gw.Spec.Listeners = []gatewayv1.Listener{{Name: "mesh", Port: WaypointPort, Protocol: "HBONE"}}
	return gw, nil
}
