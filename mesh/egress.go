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

var (
	kindServiceEntry    = newKind("networking.istio.io", "ServiceEntry")
	kindDestinationRule = newKind("networking.istio.io", "DestinationRule")
)

type egressFamily struct {
	specs []egress.Spec // namespace defaulted
	hosts map[string]bool
}

func (e *egressFamily) derive(p *plan) field.ErrorList {
	var errs field.ErrorList
	names := map[string]int{}
	e.hosts = map[string]bool{}
	for i, s := range p.app.Egress {
		path := field.NewPath("egress").Index(i)
		if s.Namespace == "" {
			s.Namespace = p.ns
		} else if s.Namespace != p.ns {
			errs = append(errs, field.Invalid(path.Child("namespace"), s.Namespace, fmt.Sprintf("empty or the App's namespace %q", p.ns)))
		}
		errs = append(errs, fielderr.Reroot(path, s.Validate())...)
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
	return errs
}

func (*egressFamily) check(*plan) field.ErrorList { return nil }

func (e *egressFamily) objects(_ *plan, add adder) {
	for i, s := range e.specs {
		add(kindServiceEntry, s.Namespace, s.Name, i, 0)
		drs, _ := egress.DestinationRules(s)
		for k, dr := range drs {
			add(kindDestinationRule, dr.Namespace, dr.Name, i, k)
		}
	}
}

func (e *egressFamily) build(_ *plan, it *item) (render.Object, error) {
	if it.kind == kindServiceEntry {
		return egress.ServiceEntry(e.specs[it.i])
	}
	drs, err := egress.DestinationRules(e.specs[it.i])
	if err != nil {
		return nil, err
	}
	return drs[it.j], nil
}

func (*egressFamily) from(_ *plan, it *item) *field.Path {
	return field.NewPath("egress").Index(int(it.i))
}

// hasHost reports whether an egress of the App serves host.
func (e *egressFamily) hasHost(host string) bool { return e.hosts[host] }
