package ingress

import (
	"fmt"
	"strings"

	apiv1 "istio.io/api/networking/v1"
	"istio.io/api/networking/v1alpha3"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/mlmesh/mlmesh"
	"github.com/mlmesh/mlmesh/internal/check"
	"github.com/mlmesh/mlmesh/internal/fielderr"
	"github.com/mlmesh/mlmesh/internal/fieldpath"
	"github.com/mlmesh/mlmesh/internal/labels"
)

// ValidationError reports every problem in a spec, each with its field path.
// Its Unwrap method returns each problem as a *field.Error
// (k8s.io/apimachinery/pkg/util/validation/field).
type ValidationError = mlmesh.ValidationError

// Protocol is what a gateway server speaks on its port: mlmesh.Protocol,
// the type serving and egress use too.
type Protocol = mlmesh.Protocol

// Gateway server protocols.
const (
	HTTP  = mlmesh.HTTP
	HTTPS = mlmesh.HTTPS
	GRPC  = mlmesh.GRPC
	HTTP2 = mlmesh.HTTP2
	TLS   = mlmesh.TLS
	TCP   = mlmesh.TCP
)

// TLSMode is how a server terminates TLS: Istio's ServerTLSSettings mode.
// It is not routing.TLSMode, a client's: Istio has two enums, and a value
// of one is no value of the other.
type TLSMode string

// Server TLS modes.
const (
	// TLSSimple terminates TLS with the certificate in CredentialName.
	TLSSimple TLSMode = "SIMPLE"
	// TLSMutual also requires a client certificate signed by the CA in
	// CredentialName (the "-cacert" key or secret).
	TLSMutual TLSMode = "MUTUAL"
	// TLSPassthrough forwards TLS untouched, routed by SNI.
	TLSPassthrough TLSMode = "PASSTHROUGH"
)

// Spec is an Istio Gateway: the ports, hosts and TLS an ingress gateway
// deployment serves.
type Spec struct {
	// Name is the Gateway's name. A DNS-1123 label. Required.
	Name string
	// Namespace is where it goes; empty means "default".
	Namespace string
	// Selector picks the gateway pods; empty means istio: ingressgateway.
	Selector map[string]string
	// Servers are the ports served, at least one, numbers unique.
	Servers []Server
	// Labels are put on the Gateway.
	Labels map[string]string
	// Workload is the gateway's pods, as the policies around the Gateway
	// need them (mesh's: the model policies that let the gateway in, the
	// gateway's token checks). The zero value is Istio's default ingress
	// gateway.
	Workload Workload
}

// Workload is the gateway deployment that Selector picks. Its zero value
// is Istio's default ingress gateway, as istioctl's default profile and the
// gateway Helm chart named istio-ingressgateway install it.
type Workload struct {
	// Namespace is where the gateway's pods run, and where policies that
	// select them go; empty means "istio-system".
	Namespace string
	// ServiceAccount is the pods' service account, the identity they call
	// models with; empty means "istio-ingressgateway-service-account".
	ServiceAccount string
	// TargetPorts maps a server's port to the port of the gateway's pods
	// that receives it (the targetPort of its Service). A port not listed
	// is the default gateway's: 80 is 8080, 443 is 8443, any other is
	// itself.
	TargetPorts map[uint32]uint32
}

// WorkloadNamespace is the namespace of the gateway's pods.
func (g Spec) WorkloadNamespace() string {
	if g.Workload.Namespace == "" {
		return "istio-system"
	}
	return g.Workload.Namespace
}

// ServiceAccount is the gateway pods' service account, "namespace/name".
func (g Spec) ServiceAccount() string {
	name := g.Workload.ServiceAccount
	if name == "" {
		name = "istio-ingressgateway-service-account"
	}
	return g.WorkloadNamespace() + "/" + name
}

// TargetPort is the port of the gateway's pods that receives server port
// port: what an AuthorizationPolicy on the gateway matches.
func (g Spec) TargetPort(port uint32) uint32 {
	if t, ok := g.Workload.TargetPorts[port]; ok {
		return t
	}
	switch port {
	case 80:
		return 8080
	case 443:
		return 8443
	}
	return port
}

// SelectorLabels is Selector, or DefaultSelector when it is empty.
func (g Spec) SelectorLabels() map[string]string {
	if len(g.Selector) == 0 {
		return DefaultSelector()
	}
	return labels.Merge(g.Selector, nil)
}

// Server is one port of a gateway.
type Server struct {
	// Port is the port number, 1-65535. Required.
	Port uint32
	// Name names the port; empty means "<protocol>-<port>" in lowercase.
	Name string
	// Protocol is what the port speaks; empty means HTTP.
	Protocol Protocol
	// Hosts are the hostnames served ("*", "models.example.com",
	// "*.example.com", optionally "namespace/host"). At least one.
	Hosts []string
	// TLS terminates TLS on HTTPS and TLS ports (TLSSimple, TLSMutual or
	// TLSPassthrough). Required for HTTPS.
	TLS *ServerTLS
	// HTTPSRedirect answers plain HTTP requests on this HTTP port with a
	// 301 redirect to HTTPS.
	HTTPSRedirect bool
}

// ServerTLS is how a server terminates TLS.
type ServerTLS struct {
	Mode TLSMode
	// CredentialName is the Kubernetes Secret holding the certificate (and,
	// for TLSMutual, the CA), in the gateway pods' namespace. Required for
	// TLSSimple and TLSMutual.
	CredentialName string
}

// DefaultSelector is the selector of Istio's default ingress gateway.
func DefaultSelector() map[string]string { return map[string]string{"istio": "ingressgateway"} }

func (s Server) protocol() Protocol {
	if s.Protocol == "" {
		return HTTP
	}
	return s.Protocol
}

func (s Server) name() string {
	if s.Name != "" {
		return s.Name
	}
	return fmt.Sprintf("%s-%d", strings.ToLower(string(s.protocol())), s.Port)
}

func (g Spec) namespace() string {
	if g.Namespace == "" {
		return "default"
	}
	return g.Namespace
}

// Ref returns how a VirtualService names this gateway: "namespace/name".
func (g Spec) Ref() string { return g.namespace() + "/" + g.Name }

// Validate reports every problem in g at once, as a *ValidationError, or nil.
func (g Spec) Validate() error {
	var errs field.ErrorList
	errs = append(errs, check.Name(fieldpath.New("name"), g.Name)...)
	if g.Namespace != "" {
		errs = append(errs, check.Label(fieldpath.New("namespace"), g.Namespace)...)
	}
	errs = append(errs, check.Labels(fieldpath.New("selector"), g.Selector)...)
	errs = append(errs, check.Labels(fieldpath.New("labels"), g.Labels)...)
	errs = append(errs, g.Workload.validate(fieldpath.New("workload"))...)
	if len(g.Servers) == 0 {
		errs = append(errs, field.Required(fieldpath.New("servers").Field(), "at least one server"))
	}
	ports := map[uint32]int{}
	names := map[string]int{}
	for i, s := range g.Servers {
		p := fieldpath.New("servers").Index(i)
		if s.Port == 0 || s.Port > 65535 {
			errs = append(errs, field.Invalid(p.Child("port").Field(), s.Port, "a port number between 1 and 65535"))
		} else if prev, dup := ports[s.Port]; dup {
			errs = append(errs, fielderr.Duplicate(p.Child("port").Field(), s.Port, fmt.Sprintf("served by servers[%d]", prev)))
		} else {
			ports[s.Port] = i
		}
		if prev, dup := names[s.name()]; dup {
			errs = append(errs, fielderr.Duplicate(p.Child("name").Field(), s.name(), fmt.Sprintf("the name of servers[%d]", prev)))
		} else {
			names[s.name()] = i
		}
		errs = append(errs, s.validate(p)...)
	}
	return fielderr.New("ingress.Spec", errs)
}

// validate checks one server on its own; Validate checks its port and name
// against the other servers.
func (s Server) validate(p fieldpath.Path) field.ErrorList {
	var errs field.ErrorList
	if s.Name != "" {
		errs = append(errs, check.Label(p.Child("name"), s.Name)...)
	}
	switch s.protocol() {
	case HTTP, HTTPS, GRPC, HTTP2, TLS, TCP:
	default:
		errs = append(errs, field.NotSupported(p.Child("protocol").Field(), s.Protocol, []Protocol{HTTP, HTTPS, GRPC, HTTP2, TLS, TCP}))
	}
	if len(s.Hosts) == 0 {
		errs = append(errs, field.Required(p.Child("hosts").Field(), `at least one hostname ("*" for any)`))
	}
	seen := map[string]bool{}
	for j, h := range s.Hosts {
		hp := p.Child("hosts").Index(j)
		if seen[h] {
			errs = append(errs, field.Duplicate(hp.Field(), h))
		}
		seen[h] = true
		ns, host, ok := strings.Cut(h, "/")
		if !ok {
			ns, host = "", h
		}
		if ok && ns != "*" && ns != "." {
			errs = append(errs, check.Label(hp, ns)...)
		}
		if herrs := check.Host(hp, host, true, true); len(herrs) > 0 {
			errs = append(errs, herrs...)
		} else {
			errs = append(errs, check.FQDN(hp, host)...)
		}
	}
	tp := p.Child("tls")
	switch {
	case s.TLS != nil:
		switch s.TLS.Mode {
		case TLSSimple, TLSMutual:
			if s.TLS.CredentialName == "" {
				errs = append(errs, field.Required(tp.Child("credentialName").Field(), "the Secret holding the server certificate"))
			} else {
				for _, msg := range check.DNS1123Subdomain(s.TLS.CredentialName) {
					errs = append(errs, field.Invalid(tp.Child("credentialName").Field(), s.TLS.CredentialName, msg))
				}
			}
		case TLSPassthrough:
			if s.TLS.CredentialName != "" {
				errs = append(errs, field.Invalid(tp.Child("credentialName").Field(), s.TLS.CredentialName, "passthrough does not terminate TLS, so it uses no credential"))
			}
			if s.protocol() != TLS {
				errs = append(errs, field.Invalid(p.Child("protocol").Field(), s.protocol(), "passthrough needs protocol TLS"))
			}
		default:
			errs = append(errs, field.NotSupported(tp.Child("mode").Field(), s.TLS.Mode, []TLSMode{TLSSimple, TLSMutual, TLSPassthrough}))
		}
		if pr := s.protocol(); pr != HTTPS && pr != TLS {
			errs = append(errs, field.Invalid(p.Child("protocol").Field(), pr, "TLS settings need protocol HTTPS or TLS"))
		}
	case s.protocol() == HTTPS || s.protocol() == TLS:
		errs = append(errs, field.Required(tp.Field(), fmt.Sprintf("protocol %s needs TLS settings", s.protocol())))
	}
	if s.HTTPSRedirect && s.protocol() != HTTP {
		errs = append(errs, field.Invalid(p.Child("httpsRedirect").Field(), true, "only an HTTP server redirects to HTTPS"))
	}
	return errs
}

// Gateway validates g and returns its Gateway.
func Gateway(g Spec) (*networkingv1.Gateway, error) {
	if err := g.Validate(); err != nil {
		return nil, err
	}
	gw := &networkingv1.Gateway{
		TypeMeta:   metav1.TypeMeta{APIVersion: "networking.istio.io/v1", Kind: "Gateway"},
		ObjectMeta: g.meta(),
	}
	gw.Spec.Selector = g.SelectorLabels()
	for _, s := range g.Servers {
		srv := &apiv1.Server{
			Port:  &apiv1.Port{Number: s.Port, Name: s.name(), Protocol: string(s.protocol())},
			Hosts: append([]string(nil), s.Hosts...),
		}
		if s.TLS != nil {
			srv.Tls = &apiv1.ServerTLSSettings{
				Mode:           v1alpha3.ServerTLSSettings_TLSmode(v1alpha3.ServerTLSSettings_TLSmode_value[string(s.TLS.Mode)]),
				CredentialName: s.TLS.CredentialName,
			}
		}
		if s.HTTPSRedirect {
			srv.Tls = &apiv1.ServerTLSSettings{HttpsRedirect: true}
		}
		gw.Spec.Servers = append(gw.Spec.Servers, srv)
	}
	return gw, nil
}

// Covers reports whether one of g's servers serves host to a VirtualService
// in namespace vsNamespace, by Istio's rules: "*" covers every host,
// "*.example.com" covers its subdomains, and a "ns/" prefix limits a server
// host to VirtualServices in that namespace ("." the gateway's own, "*" any).
func (g Spec) Covers(host, vsNamespace string) bool {
	for _, s := range g.Servers {
		for _, h := range s.Hosts {
			ns, sh, ok := strings.Cut(h, "/")
			if !ok {
				ns, sh = "*", h
			}
			switch ns {
			case "*":
			case ".":
				if vsNamespace != g.namespace() {
					continue
				}
			default:
				if ns != vsNamespace {
					continue
				}
			}
			if check.Covers(sh, host) {
				return true
			}
		}
	}
	return false
}

// Hosts returns every host the gateway's servers list, without namespace
// prefixes, in order and without repeats.
func (g Spec) Hosts() []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range g.Servers {
		for _, h := range s.Hosts {
			if _, sh, ok := strings.Cut(h, "/"); ok {
				h = sh
			}
			if !seen[h] {
				seen[h] = true
				out = append(out, h)
			}
		}
	}
	return out
}

func (w Workload) validate(p fieldpath.Path) field.ErrorList {
	var errs field.ErrorList
	if w.Namespace != "" {
		errs = append(errs, check.Label(p.Child("namespace"), w.Namespace)...)
	}
	if w.ServiceAccount != "" {
		for _, msg := range check.DNS1123Subdomain(w.ServiceAccount) {
			errs = append(errs, field.Invalid(p.Child("serviceAccount").Field(), w.ServiceAccount, msg))
		}
	}
	for from, to := range w.TargetPorts {
		if from == 0 || from > 65535 || to == 0 || to > 65535 {
			errs = append(errs, field.Invalid(p.Child("targetPorts").Key(fmt.Sprint(from)).Field(), to, "port numbers between 1 and 65535"))
		}
	}
	return check.Sorted(errs)
}

func (g Spec) meta() metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Name:      g.Name,
		Namespace: g.namespace(),
		Labels:    labels.Merge(g.Labels, map[string]string{labels.ManagedBy: labels.Manager}),
	}
}
