package mesh

import (
	"fmt"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/mlmesh/mlmesh/internal/fielderr"
	"github.com/mlmesh/mlmesh/internal/labels"
	"github.com/mlmesh/mlmesh/render"
	"github.com/mlmesh/mlmesh/security"
)

// The identity family: the ServiceAccount of each model with an Identity,
// from Model.Identity; the workload family runs the model's pods as it
// (identityName) and gives them the labels it needs.

var kindServiceAccount = newKind("", "ServiceAccount")

type identityFamily struct {
	specs map[int]security.Identity // by model index, for the models with one
}

// identityName is the ServiceAccount a model with an Identity runs as.
func identityName(m Model) string {
	if m.Identity.Name != "" {
		return m.Identity.Name
	}
	return m.Name
}

func identityPath(i int) *field.Path { return modelPath(i).Child("identity") }

func (f *identityFamily) derive(p *plan) field.ErrorList {
	var errs field.ErrorList
	f.specs = map[int]security.Identity{}
	for i, m := range p.app.Models {
		if m.Identity == nil {
			continue
		}
		id := *m.Identity
		id.Name = identityName(m)
		if id.Namespace != "" && id.Namespace != p.ns {
			errs = append(errs, field.Invalid(identityPath(i).Child("namespace"), id.Namespace, fmt.Sprintf("empty or the App's namespace %q", p.ns)))
		}
		id.Namespace = p.ns
		// Validated as the user wrote it: a name derived from the model's,
		// and the model's labels, are the model's to report.
		own := id
		if m.Identity.Name == "" {
			own.Name = "model"
		}
		if err := own.Validate(); err != nil {
			errs = append(errs, fielderr.Reroot(identityPath(i), err)...)
		}
		id.Labels = labels.Merge(m.Labels, labels.Merge(id.Labels, map[string]string{labels.App: m.Name}))
		if sa := m.ServiceAccountName; sa != "" && sa != id.Name {
			errs = append(errs, field.Invalid(modelPath(i).Child("serviceAccountName"), sa, fmt.Sprintf("empty or the identity's name %q: the pods run as the model's identity", id.Name)))
		}
		f.specs[i] = id
	}
	return errs
}

func (*identityFamily) check(*plan) field.ErrorList { return nil }

func (f *identityFamily) objects(p *plan, add adder) {
	for i, m := range p.app.Models {
		if m.Identity != nil {
			add(kindServiceAccount, p.ns, f.specs[i].Name, i, 0)
		}
	}
}

func (f *identityFamily) build(_ *plan, it *item) (render.Object, error) {
	return security.ServiceAccount(f.specs[int(it.i)])
}

func (*identityFamily) from(_ *plan, it *item) *field.Path { return identityPath(int(it.i)) }

// runsAs reports whether a model of the App runs as service account name
// of the App's namespace, or the App says it exists there.
func (p *plan) runsAs(name string) bool {
	for i, m := range p.app.Models {
		if m.Identity != nil && identityName(m) == name || p.workloads.models[i].ServiceAccountName == name {
			return true
		}
	}
	for _, sa := range p.app.Namespace.ServiceAccounts {
		if sa == name {
			return true
		}
	}
	return false
}
