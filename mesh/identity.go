package mesh

import (
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/mlmesh/mlmesh/internal/fielderr"
	"github.com/mlmesh/mlmesh/internal/labels"
	"github.com/mlmesh/mlmesh/render"
	"github.com/mlmesh/mlmesh/security"
)

// The identity family: the ServiceAccount of each model with an Identity,
// from Model.Identity; the workload family runs the model's pods as it
// (identityName) and gives them the labels it needs.

type identityFamily struct {
	env   *appEnv
	specs map[int]security.Identity // by model index, for the models with one
	refs  refs[int]                 // the model of each ServiceAccount
}

// identityName is the ServiceAccount a model with an Identity runs as.
func identityName(m Model) string {
	if m.Identity.Name != "" {
		return m.Identity.Name
	}
	return m.Name
}

func identityPath(i int) *field.Path { return modelPath(i).Child("identity") }

func deriveIdentity(env *appEnv) (*identityFamily, field.ErrorList) {
	var errs field.ErrorList
	f := &identityFamily{env: env, specs: map[int]security.Identity{}}
	for i, m := range env.app.Models {
		if m.Identity == nil {
			if sa := m.ServiceAccountName; sa != "" && !slices.Contains(env.app.Namespace.ServiceAccounts, sa) {
				// Pods under an account that does not exist are never
				// created: say which account is meant.
				errs = append(errs, field.Invalid(modelPath(i).Child("serviceAccountName"), sa,
					"a service account the App neither creates nor declares: give the model an identity (mlmesh creates its ServiceAccount), or list the account in namespace.serviceAccounts if it exists already"))
			}
			continue
		}
		id := *m.Identity
		id.Name = identityName(m)
		if id.Namespace != "" && id.Namespace != env.ns {
			errs = append(errs, field.Invalid(identityPath(i).Child("namespace"), id.Namespace, fmt.Sprintf("empty or the App's namespace %q", env.ns)))
		}
		id.Namespace = env.ns
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
	return f, errs
}

func (f *identityFamily) objects(add adder) {
	for i, m := range f.env.app.Models {
		if m.Identity != nil {
			add(kindServiceAccount, f.env.ns, f.specs[i].Name, f.refs.add(i))
		}
	}
}

func (f *identityFamily) build(_ kind, ref int32) (render.Object, error) {
	return security.ServiceAccount(f.specs[f.refs[ref]])
}

func (f *identityFamily) from(_ kind, ref int32) *field.Path { return identityPath(f.refs[ref]) }

// runsAs reports whether a model of the App runs as service account name
// of the App's namespace, or the App says it exists there.
func (w *workloadFamily) runsAs(name string) bool {
	for i, m := range w.env.app.Models {
		if m.Identity != nil && identityName(m) == name || w.models[i].ServiceAccountName == name {
			return true
		}
	}
	for _, sa := range w.env.app.Namespace.ServiceAccounts {
		if sa == name {
			return true
		}
	}
	return false
}
