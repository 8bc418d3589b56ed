package mesh

import (
	"fmt"
	"maps"
	"slices"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/mlmesh/mlmesh/internal/check"
	"github.com/mlmesh/mlmesh/internal/fielderr"
	"github.com/mlmesh/mlmesh/internal/labels"
	"github.com/mlmesh/mlmesh/names"
	"github.com/mlmesh/mlmesh/render"
	"github.com/mlmesh/mlmesh/serving"
)

// The workload family: each model's Service and a Deployment per version,
// from the serving.Model of each App.Models, with the App's namespace and
// injection applied.

type workloadFamily struct {
	env     *appEnv
	models  []serving.Model   // one per App.Models, the App's defaults applied
	checked []serving.Checked // one per model; the zero value where invalid
	index   map[string]int    // a model's name to its first index

	// reuse builds each model's Service and each Deployment into the last
	// one (svc, dep), for a renderer that is done with each object when
	// the next is built.
	reuse bool
	dep   appsv1.Deployment
	svc   corev1.Service

	refs refs[workloadRef]
}

// workloadRef is one of a model's workloads: the Service of the model
// (version -1) or of a version, or a version's Deployment,
// PodDisruptionBudget or HorizontalPodAutoscaler (by the kind).
type workloadRef struct{ model, version int32 }

// modelPath is the path of App.Models[i]. Paths are made only for errors:
// a large App has many models.
func modelPath(i int) *field.Path { return field.NewPath("models").Index(i) }

func deriveWorkloads(env *appEnv) (*workloadFamily, field.ErrorList) {
	var errs field.ErrorList
	n := len(env.app.Models)
	// models is sized once: the checked models point into it.
	w := &workloadFamily{env: env, index: make(map[string]int, n), models: make([]serving.Model, n), checked: make([]serving.Checked, n)}
	var checker serving.Checker // models of one runtime and resource lists share them
	for i, m := range env.app.Models {
		sm := &w.models[i]
		*sm = m.Model
		if sm.Namespace == "" {
			sm.Namespace = env.ns
		} else if sm.Namespace != env.ns {
			errs = append(errs, field.Invalid(modelPath(i).Child("namespace"), sm.Namespace, fmt.Sprintf("empty or the App's namespace %q", env.ns)))
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
			switch env.app.Namespace.Injection {
			case InjectPods:
				sm.Sidecar = serving.SidecarInject
			case InjectAmbient:
				sm.Sidecar = serving.SidecarAmbient
			}
		}
		errs = append(errs, env.ambientModelErrors(i, sm)...)
		errs = append(errs, objectiveErrors(i, m)...)
		c, err := checker.Check(sm)
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
	return w, errs
}

func (w *workloadFamily) objects(add adder) {
	w.refs = make(refs[workloadRef], 0, 2*len(w.models))
	for i := range w.models {
		m := &w.models[i]
		add(kindService, m.Namespace, m.Name, w.refs.add(workloadRef{int32(i), -1}))
		c := w.checked[i]
		if w.env.gatewayAPI() {
			// A Service per version, what Gateway API routes send to.
			for k, v := range m.Versions {
				add(kindService, m.Namespace, names.Deployment(m.Name, v.Name), w.refs.add(workloadRef{int32(i), int32(k)}))
			}
		}
		for k, v := range m.Versions {
			name := names.Deployment(m.Name, v.Name)
			ref := w.refs.add(workloadRef{int32(i), int32(k)})
			add(kindDeployment, m.Namespace, name, ref)
			if c.Model() != nil && c.HasDisruptionBudget(k) {
				add(kindBudget, m.Namespace, name, ref)
			}
			if c.Model() != nil && c.HasAutoscaler(k) {
				add(kindAutoscaler, m.Namespace, name, ref)
			}
		}
	}
}

func (w *workloadFamily) build(k kind, ref int32) (render.Object, error) {
	r := w.refs[ref]
	c, v := w.checked[r.model], int(r.version)
	switch {
	case k == kindService && v >= 0:
		return w.env.useWaypoint(c.VersionService(v)), nil
	case k == kindService:
		return w.env.useWaypoint(c.Service(reused(w.reuse, &w.svc))), nil
	case k == kindBudget:
		return c.DisruptionBudget(v), nil
	case k == kindAutoscaler:
		return c.Autoscaler(v), nil
	}
	return c.Deployment(v, reused(w.reuse, &w.dep)), nil
}

func (w *workloadFamily) from(_ kind, ref int32) *field.Path {
	r := w.refs[ref]
	if r.version < 0 {
		return modelPath(int(r.model)).Child("name")
	}
	return modelPath(int(r.model)).Child("versions").Index(int(r.version)).Child("name")
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

// objectiveErrors are the problems of a model's objectives: each checked
// (package slo), and each version's named after a version of the model.
func objectiveErrors(i int, m Model) field.ErrorList {
	var errs field.ErrorList
	if m.SLO != nil {
		errs = append(errs, m.SLO.Check(modelPath(i).Child("slo"))...)
	}
	for _, v := range slices.Sorted(maps.Keys(m.VersionSLOs)) {
		p := modelPath(i).Child("versionSLOs").Key(v)
		if !slices.ContainsFunc(m.Versions, func(x serving.Version) bool { return x.Name == v }) {
			errs = append(errs, field.NotFound(p, v))
			continue
		}
		errs = append(errs, m.VersionSLOs[v].Check(p)...)
	}
	return errs
}
