package security

import (
	"slices"
	"strings"

	apiv1 "istio.io/api/networking/v1alpha3"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/mlmesh/mlmesh/internal/check"
	"github.com/mlmesh/mlmesh/internal/fielderr"
	"github.com/mlmesh/mlmesh/internal/fieldpath"
	"github.com/mlmesh/mlmesh/internal/labels"
)

// ControlPlane is the egress host of Istio's control plane namespace, which
// a scoped proxy keeps: istiod, and the telemetry and tracing services
// installed beside it.
const ControlPlane = "istio-system/*"

// Scope is a Sidecar: what the proxies of the pods it selects receive and
// may reach. Istio sends a proxy the configuration of every service in the
// mesh unless a Sidecar narrows it, so the configuration of each proxy, and
// istiod's work, grows with the mesh; scoped to what a model calls, it does
// not.
type Scope struct {
	// Name names the Sidecar. A DNS-1123 subdomain. Required.
	Name string
	// Namespace is where it goes; empty means "default".
	Namespace string
	// Selector picks the pods; empty makes it the namespace's default
	// Sidecar (one per namespace).
	Selector map[string]string
	// Hosts are what the proxies may reach, "<namespace>/<host>" as Istio
	// writes them: the namespace of the Service or ServiceEntry ("." for
	// the Sidecar's own, "*" any), and its host ("*" any, "*.example.com").
	// At least one.
	Hosts []string
	// AllowAny lets the proxies pass traffic to hosts outside the registry
	// through, unrouted. By default the Sidecar is REGISTRY_ONLY: a host
	// that no Service or ServiceEntry names (and Hosts includes) is refused.
	AllowAny bool
	// Labels are put on the Sidecar.
	Labels map[string]string
}

// Validate reports every problem in s at once, as a *ValidationError, or nil.
func (s Scope) Validate() error {
	errs := checkMeta(s.Name, s.Namespace, s.Selector, s.Labels)
	if len(s.Hosts) == 0 {
		errs = append(errs, field.Required(fieldpath.New("hosts").Field(), `at least one "<namespace>/<host>"`))
	}
	for i, h := range s.Hosts {
		p := fieldpath.New("hosts").Index(i)
		ns, host, ok := strings.Cut(h, "/")
		if !ok {
			errs = append(errs, field.Invalid(p.Field(), h, `"<namespace>/<host>": "." is the Sidecar's namespace, "*" any`))
			continue
		}
		if ns != "." && ns != "*" && ns != "~" {
			for _, msg := range check.DNS1123Label(ns) {
				errs = append(errs, field.Invalid(p.Field(), h, `"<namespace>/<host>", namespace ".", "*" or a namespace: `+msg))
			}
		}
		if host != "*" {
			herrs := check.Host(p, host, true, false)
			if len(herrs) == 0 {
				herrs = check.FQDN(p, host)
			}
			errs = append(errs, herrs...)
		}
	}
	errs = append(errs, duplicates(fieldpath.New("hosts"), s.Hosts)...)
	return fielderr.New("security.Scope", errs)
}

// Sidecar validates s and returns its Sidecar, its hosts sorted.
func Sidecar(s Scope) (*networkingv1.Sidecar, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return s.sidecar(), nil
}

func (s *Scope) sidecar() *networkingv1.Sidecar {
	sc := &networkingv1.Sidecar{
		TypeMeta:   metav1.TypeMeta{APIVersion: "networking.istio.io/v1", Kind: "Sidecar"},
		ObjectMeta: meta(s.Name, s.Namespace, s.Labels),
	}
	if len(s.Selector) > 0 {
		sc.Spec.WorkloadSelector = &apiv1.WorkloadSelector{Labels: labels.Merge(s.Selector, nil)}
	}
	hosts := slices.Clone(s.Hosts)
	slices.Sort(hosts)
	sc.Spec.Egress = []*apiv1.IstioEgressListener{{Hosts: hosts}}
	mode := apiv1.OutboundTrafficPolicy_REGISTRY_ONLY
	if s.AllowAny {
		mode = apiv1.OutboundTrafficPolicy_ALLOW_ANY
	}
	sc.Spec.OutboundTrafficPolicy = &apiv1.OutboundTrafficPolicy{Mode: mode}
	return sc
}
