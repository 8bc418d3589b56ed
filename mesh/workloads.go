package mesh

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/mlmesh/mlmesh/internal/check"
	"github.com/mlmesh/mlmesh/internal/fielderr"
	"github.com/mlmesh/mlmesh/internal/labels"
	"github.com/mlmesh/mlmesh/render"
	"github.com/mlmesh/mlmesh/serving"
)

// The workload family: each model's Service and a Deployment per version,
// from the serving.Model of each App.Models, with the App's namespace and
// injection applied.

var (
	kindService    = newKind("", "Service")
	kindDeployment = newKind("apps", "Deployment")
	kindBudget     = newKind("policy", "PodDisruptionBudget")
	kindAutoscaler = newKind("autoscaling", "HorizontalPodAutoscaler")
)

type workloadFamily struct {
	models  []serving.Model   // one per App.Models, the App's defaults applied
	checked []serving.Checked // one per model; the zero value where invalid
	index   map[string]int    // a model's name to its first index

	// reuse builds each Deployment into the last one (dep), for a renderer
	// that is done with each object when the next is built.
	reuse bool
	dep   appsv1.Deployment
}

// modelPath is the path of App.Models[i]. Paths are made only for errors:
// a large App has many models.
func modelPath(i int) *field.Path { return field.NewPath("models").Index(i) }

func (w *workloadFamily) derive(p *plan) field.ErrorList {
	var errs field.ErrorList
	w.index = make(map[string]int, len(p.app.Models))
	// Sized once: the checked models point into it.
	w.models = make([]serving.Model, len(p.app.Models))
	w.checked = make([]serving.Checked, len(p.app.Models))
	for i, m := range p.app.Models {
		sm := &w.models[i]
		*sm = m.Model
		if sm.Namespace == "" {
			sm.Namespace = p.ns
		} else if sm.Namespace != p.ns {
			errs = append(errs, field.Invalid(modelPath(i).Child("namespace"), sm.Namespace, fmt.Sprintf("empty or the App's namespace %q", p.ns)))
		}
		if m.Identity != nil {
			// Checked by the identity family (or the model's name check).
			if name := identityName(m); len(check.DNS1123Subdomain(name)) == 0 {
				sm.ServiceAccountName = name
			}
			if l := m.Identity.PodLabels(); l != nil {
				sm.Labels = labels.Merge(sm.Labels, l)
			}
		}
		if sm.Sidecar == serving.SidecarDefault {
			switch p.app.Namespace.Injection {
			case InjectPods:
				sm.Sidecar = serving.SidecarInject
			case InjectAmbient:
				sm.Sidecar = serving.SidecarAmbient
			}
		}
		errs = append(errs, p.ambientModelErrors(i, sm)...)
		c, err := serving.Check(sm)
		if err != nil {
			errs = append(errs, fielderr.Reroot(modelPath(i), err)...)
		}
		w.checked[i] = c
		if prev, dup := w.index[m.Name]; dup {
			errs = append(errs, fielderr.Duplicate(modelPath(i).Child("name"), m.Name, fmt.Sprintf("models[%d]", prev)))
		} else if m.Name != "" {
			w.index[m.Name] = i
		}
	}
	return errs
}

func (*workloadFamily) check(*plan) field.ErrorList { return nil }

func (w *workloadFamily) objects(p *plan, add adder) {
	for i := range w.models {
		m := &w.models[i]
		add(kindService, m.Namespace, m.Name, i, 0)
		c := w.checked[i]
		if p.app.API == GatewayAPI {
			// A Service per version, what Gateway API routes send to; j is
			// the version's index plus one.
			for k, v := range m.Versions {
				add(kindService, m.Namespace, serving.DeploymentName(m.Name, v.Name), i, k+1)
			}
		}
		for k, v := range m.Versions {
			name := serving.DeploymentName(m.Name, v.Name)
			add(kindDeployment, m.Namespace, name, i, k)
			if c.Model() != nil && c.HasDisruptionBudget(k) {
				add(kindBudget, m.Namespace, name, i, k)
			}
			if c.Model() != nil && c.HasAutoscaler(k) {
				add(kindAutoscaler, m.Namespace, name, i, k)
			}
		}
	}
}

func (w *workloadFamily) build(p *plan, it *item) (render.Object, error) {
	c := w.checked[it.i]
	switch {
	case it.kind == kindService && it.j > 0:
		return p.useWaypoint(c.VersionService(int(it.j) - 1)), nil
	case it.kind == kindService:
		return p.useWaypoint(c.Service()), nil
	case it.kind == kindBudget:
		return c.DisruptionBudget(int(it.j)), nil
	case it.kind == kindAutoscaler:
		return c.Autoscaler(int(it.j)), nil
	}
	if w.reuse {
		return c.Deployment(int(it.j), &w.dep), nil
	}
	return c.Deployment(int(it.j), nil), nil
}

func (*workloadFamily) from(_ *plan, it *item) *field.Path {
	switch {
	case it.kind == kindService && it.j > 0:
		return modelPath(int(it.i)).Child("versions").Index(int(it.j) - 1).Child("name")
	case it.kind != kindService:
		return modelPath(int(it.i)).Child("versions").Index(int(it.j)).Child("name")
	}
	return modelPath(int(it.i)).Child("name")
}

// model returns App.Models[i]'s serving.Model with the App's defaults
// applied (namespace, sidecar).
func (w *workloadFamily) model(i int) serving.Model { return w.models[i] }

// byName returns the index of the model of that name.
func (w *workloadFamily) byName(name string) (int, bool) {
	i, ok := w.index[name]
	return i, ok
}

// valid reports whether App.Models[i] passed serving's checks.
func (w *workloadFamily) valid(i int) bool { return w.checked[i].Model() != nil }
