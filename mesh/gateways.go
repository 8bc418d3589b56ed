package mesh

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/mlmesh/mlmesh/ingress"
	"github.com/mlmesh/mlmesh/internal/check"
	"github.com/mlmesh/mlmesh/internal/fielderr"
	"github.com/mlmesh/mlmesh/internal/fieldpath"
	"github.com/mlmesh/mlmesh/names"
	"github.com/mlmesh/mlmesh/render"
	"github.com/mlmesh/mlmesh/routing"
)

// The gateway family: one Gateway per App.Gateways, and the check that no
// host is answered twice on one gateway by the VirtualServices of the other
// families.

type gatewayFamily struct {
	env   *appEnv
	specs []ingress.Spec // namespace defaulted
	index map[string]int // by name
	valid bool           // every gateway passed its checks
	refs  refs[gatewayRef]
}

// gatewayRef is a gateway, or (redirect) its HTTPRoute that redirects to
// HTTPS in the Gateway API dialect.
type gatewayRef struct {
	gateway  int
	redirect bool
}

// hostClaims records which route answers each host on each gateway, as
// the route families claim their hosts (claim), in compose's order.
type hostClaims map[gatewayHost]claimant

type gatewayHost struct{ gateway, host string }

// claimant is the App element whose route answers a host: list[i].child
// (models[3].expose, routes[0].hosts). Its path is made only for an error.
type claimant struct {
	list  string
	i     int
	child string
	// hosts: the element lists the hosts it answers (routes[i].hosts,
	// models[i].expose.hosts); otherwise they are its gateway's.
	hosts bool
}

func (c claimant) path() *field.Path { return field.NewPath(c.list).Index(c.i).Child(c.child) }

// hostPath is the field of the k-th host the element answers for.
func (c claimant) hostPath(k int) *field.Path {
	switch {
	case c.child == "hosts":
		return c.path().Index(k)
	case c.child == "host": // an endpoint's one host
		return c.path()
	case c.hosts:
		return c.path().Child("hosts").Index(k)
	}
	return c.path().Child("gateway")
}

func deriveGateways(env *appEnv) (*gatewayFamily, field.ErrorList) {
	var errs field.ErrorList
	g := &gatewayFamily{env: env, index: make(map[string]int, len(env.app.Gateways))}
	for i, gw := range env.app.Gateways {
		path := field.NewPath("gateways").Index(i)
		if gw.Namespace == "" {
			gw.Namespace = env.ns
		}
		errs = append(errs, fielderr.Reroot(path, gw.Validate())...)
		errs = append(errs, env.gatewayAPIGatewayErrors(i, gw)...)
		if prev, dup := g.index[gw.Name]; dup {
			errs = append(errs, fielderr.Duplicate(path.Child("name"), gw.Name, fmt.Sprintf("gateways[%d]", prev)))
		} else if gw.Name != "" {
			g.index[gw.Name] = i
		}
		g.specs = append(g.specs, gw)
	}
	errs = append(errs, sharedCertificates(g.specs)...)
	errs = append(errs, conflictingServers(g.specs)...)
	g.valid = len(errs) == 0
	return g, errs
}

// sharedCertificates reports a TLS Secret served by two gateways of one
// gateway workload (selectors one within the other): Istio's analyzers
// flag it (IST0138), as the two servers' certificates would collide.
func sharedCertificates(specs []ingress.Spec) field.ErrorList {
	var errs field.ErrorList
	for j, b := range specs {
		for k, s := range b.Servers {
			if s.TLS == nil || s.TLS.CredentialName == "" {
				continue
			}
			for i, a := range specs[:j] {
				if !sameWorkload(a, b) {
					continue
				}
				if slices.ContainsFunc(a.Servers, func(o ingress.Server) bool { return o.TLS != nil && o.TLS.CredentialName == s.TLS.CredentialName }) {
					p := field.NewPath("gateways").Index(j).Child("servers").Index(k).Child("tls", "credentialName")
					errs = append(errs, field.Invalid(p, s.TLS.CredentialName, fmt.Sprintf(
						"gateways[%d] serves the same certificate on the same gateway pods, which Istio flags (IST0138): give each gateway its own Secret, or serve both hosts from one gateway", i)))
					break
				}
			}
		}
	}
	return errs
}

// conflictingServers reports a host that two gateways of one gateway
// workload serve on the same port: Istio's analyzers report the conflict
// (IST0145), as only one of the two servers can take the host.
func conflictingServers(specs []ingress.Spec) field.ErrorList {
	var errs field.ErrorList
	for j, b := range specs {
		for k, s := range b.Servers {
			for h, host := range s.Hosts {
				if i, ok := servedBefore(specs[:j], b, s.Port, host); ok {
					p := field.NewPath("gateways").Index(j).Child("servers").Index(k).Child("hosts").Index(h)
					errs = append(errs, field.Invalid(p, host, fmt.Sprintf(
						"gateways[%d] serves it on port %d of the same gateway pods, which Istio reports as a conflict (IST0145): serve it from one gateway", i, s.Port)))
				}
			}
		}
	}
	return errs
}

// servedBefore returns the index of a gateway of earlier that selects the
// pods b does and serves host on port.
func servedBefore(earlier []ingress.Spec, b ingress.Spec, port uint32, host string) (int, bool) {
	for i, a := range earlier {
		if !sameWorkload(a, b) {
			continue
		}
		for _, s := range a.Servers {
			if s.Port == port && slices.Contains(s.Hosts, host) {
				return i, true
			}
		}
	}
	return 0, false
}

// sameWorkload reports whether two Gateways of one namespace may select
// the same pods: one's selector within the other's.
func sameWorkload(a, b ingress.Spec) bool {
	sa, sb := a.SelectorLabels(), b.SelectorLabels()
	return a.Namespace == b.Namespace && (subset(sa, sb) || subset(sb, sa))
}

// subset reports whether every label of a is in b.
func subset(a, b map[string]string) bool {
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func (g *gatewayFamily) objects(add adder) {
	for i, gw := range g.specs {
		if !g.env.gatewayAPI() {
			add(kindGateway, gw.Namespace, gw.Name, g.refs.add(gatewayRef{gateway: i}))
			continue
		}
		add(kindGatewayAPIGateway, gw.Namespace, gw.Name, g.refs.add(gatewayRef{gateway: i}))
		if slices.ContainsFunc(gw.Servers, func(s ingress.Server) bool { return s.HTTPSRedirect }) {
			add(kindHTTPRoute, gw.Namespace, names.HTTPSRedirect(gw.Name), g.refs.add(gatewayRef{gateway: i, redirect: true}))
		}
	}
}

// build builds a gateway validated in derive.
func (g *gatewayFamily) build(k kind, ref int32) (render.Object, error) {
	r := g.refs[ref]
	spec := g.specs[r.gateway]
	switch {
	case r.redirect:
		return ingress.HTTPSRedirectRoute(spec)
	case k == kindGatewayAPIGateway:
		return ingress.GatewayAPIGateway(spec, g.env.ns)
	}
	return ingress.Gateway(spec)
}

func (g *gatewayFamily) from(_ kind, ref int32) *field.Path {
	return field.NewPath("gateways").Index(g.refs[ref].gateway).Child("name")
}

// lookup returns the gateway that a route or an exposure names at
// parent.gateway, or an error that lists the gateways there are.
func (g *gatewayFamily) lookup(parent fieldpath.Path, name string) (ingress.Spec, *field.Error) {
	if i, ok := g.index[name]; ok {
		return g.specs[i], nil
	}
	path := parent.Child("gateway").Field()
	names := make([]string, 0, len(g.index))
	for n := range g.index {
		names = append(names, n)
	}
	sort.Strings(names)
	if name == "" {
		return ingress.Spec{}, field.Required(path, "the name of one of App.Gateways: "+strings.Join(names, ", "))
	}
	fe := field.NotFound(path, name)
	fe.Detail = "want one of App.Gateways: " + strings.Join(names, ", ")
	if len(names) == 0 {
		fe.Detail = "App.Gateways is empty"
	}
	return ingress.Spec{}, fe
}

// served reports each host, at parent.hosts[k], that gw does not serve.
// A host that is itself invalid, or a gateway that is, is reported by its
// own check only.
func (g *gatewayFamily) served(hostPath func(k int) *field.Path, gw ingress.Spec, hosts []string, ns string) field.ErrorList {
	if !g.valid {
		return nil
	}
	var errs field.ErrorList
	for k, h := range hosts {
		if len(check.Host(fieldpath.New("host"), h, true, true)) > 0 {
			continue
		}
		if !gw.Covers(h, ns) {
			errs = append(errs, field.Invalid(hostPath(k), h, fmt.Sprintf("not served by gateway %q, whose servers list hosts %s", gw.Name, strings.Join(gw.Hosts(), ", "))))
		}
	}
	return errs
}

// claim records that a route answers its hosts on the gateways it is bound
// to, and reports a host another route answers there already: Istio merges
// the two in creation order, so the rules of the second are never reached.
func (claims hostClaims) claim(c claimant, spec routing.Spec) field.ErrorList {
	var errs field.ErrorList
	for _, gw := range spec.Gateways {
		if gw == "mesh" {
			continue
		}
		for k := -1; k < len(spec.Hosts); k++ {
			h := spec.Host
			if k >= 0 {
				h = spec.Hosts[k]
			}
			key := gatewayHost{gw, h}
			if prev, dup := claims[key]; dup {
				if prev != c { // a route listing a host twice is routing's to report
					errs = append(errs, field.Invalid(c.hostPath(k+1), h, fmt.Sprintf("host %q on gateway %s is already answered by %s; Istio would merge the two and never reach the second", h, gw, prev.path())))
				}
				continue
			}
			claims[key] = c
		}
	}
	return errs
}
