package mesh

import (
	"fmt"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/mlmesh/mlmesh/egress"
	"github.com/mlmesh/mlmesh/internal/fielderr"
	"github.com/mlmesh/mlmesh/render"
)

// The egress family: a ServiceEntry per App.Egress, and the DestinationRules
// of those that originate TLS.

type egressFamily struct {
	specs []egress.Spec // namespace defaulted
	hosts map[string]bool
	refs  refs[egressRef]
}

// egressRef is an egress's ServiceEntry (rule -1) or the DestinationRule
// of one of its hosts that originate TLS.
type egressRef struct{ egress, rule int }

func deriveEgress(env *appEnv) (*egressFamily, field.ErrorList) {
	var errs field.ErrorList
	names := map[string]int{}
	e := &egressFamily{hosts: map[string]bool{}}
	for i, s := range env.app.Egress {
		path := field.NewPath("egress").Index(i)
		if s.Namespace == "" {
			s.Namespace = env.ns
		} else if s.Namespace != env.ns {
			errs = append(errs, field.Invalid(path.Child("namespace"), s.Namespace, fmt.Sprintf("empty or the App's namespace %q", env.ns)))
		}
		errs = append(errs, fielderr.Reroot(path, s.Validate())...)
		if env.ambient() {
			for k, port := range s.Ports {
				if port.OriginateTLS {
					// ztunnel carries connections at layer 4 and originates
					// no TLS, and no waypoint serves the ServiceEntry: the
					// application's plain HTTP would leave unencrypted.
					errs = append(errs, field.Invalid(path.Child("ports").Index(k).Child("originateTLS"), true,
						"an ambient namespace originates no TLS for egress (ztunnel works at layer 4, and no waypoint serves the external host): let the application speak TLS itself (port 443, protocol TLS)"))
				}
			}
		}
		if prev, dup := names[s.Name]; dup {
			errs = append(errs, fielderr.Duplicate(path.Child("name"), s.Name, fmt.Sprintf("egress[%d]", prev)))
		} else if s.Name != "" {
			names[s.Name] = i
		}
		for _, h := range s.Hosts {
			e.hosts[h] = true
		}
		e.specs = append(e.specs, s)
	}
	return e, errs
}

func (e *egressFamily) objects(add adder) {
	for i, s := range e.specs {
		add(kindServiceEntry, s.Namespace, s.Name, e.refs.add(egressRef{i, -1}))
		drs, _ := egress.DestinationRules(s) // nil for an invalid spec, never built
		for k, dr := range drs {
			add(kindDestinationRule, dr.Namespace, dr.Name, e.refs.add(egressRef{i, k}))
		}
	}
}

func (e *egressFamily) build(_ kind, ref int32) (render.Object, error) {
	r := e.refs[ref]
	if r.rule < 0 {
		return egress.ServiceEntry(e.specs[r.egress])
	}
	drs, err := egress.DestinationRules(e.specs[r.egress])
	if err != nil {
		return nil, err
	}
	return drs[r.rule], nil
}

func (e *egressFamily) from(_ kind, ref int32) *field.Path {
	return field.NewPath("egress").Index(e.refs[ref].egress)
}

// hasHost reports whether an egress of the App serves host.
func (e *egressFamily) hasHost(host string) bool { return e.hosts[host] }
