package serving

import (
	"fmt"
	"strconv"
	"strings"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/mlmesh/mlmesh/internal/fieldpath"
	"github.com/mlmesh/mlmesh/names"
)

// Autoscaling is a HorizontalPodAutoscaler (autoscaling/v2) for a
// version's Deployment, which then leaves its replica count to it.
//
// A version at weight 0 keeps Min replicas: Kubernetes does not scale a
// HorizontalPodAutoscaler to zero, and a version about to receive traffic
// (the next step of a canary) must not start cold.
type Autoscaling struct {
	// Min is the fewest replicas, at least 1; 0 means 1.
	Min int32
	// Max is the most replicas, at least Min. Required.
	Max int32
	// CPU is the target average CPU utilisation, in percent of the
	// container's CPU request (which must be set); 0 means none.
	CPU int32
	// Memory is the target average memory utilisation, in percent of the
	// memory request (which must be set); 0 means none.
	Memory int32
	// Metrics are further metrics as autoscaling/v2 writes them: the
	// requests per second each pod serves, from the mesh's metrics through
	// a metrics adapter (PodsMetric), or an External metric. At least one
	// of CPU, Memory and Metrics.
	Metrics []autoscalingv2.MetricSpec
	// Behavior tunes how fast it scales up and down; nil keeps the
	// Kubernetes defaults.
	Behavior *autoscalingv2.HorizontalPodAutoscalerBehavior
}

// PodsMetric is a Pods metric with a target average value per pod, such
// as the requests per second a metrics adapter serves from Istio's
// istio_requests_total (PodsMetric("istio_requests_per_second", "10")).
func PodsMetric(name string, perPod resource.Quantity) autoscalingv2.MetricSpec {
	return autoscalingv2.MetricSpec{
		Type: autoscalingv2.PodsMetricSourceType,
		Pods: &autoscalingv2.PodsMetricSource{
			Metric: autoscalingv2.MetricIdentifier{Name: name},
			Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: &perPod},
		},
	}
}

func (a *Autoscaling) min() int32 {
	if a.Min == 0 {
		return 1
	}
	return a.Min
}

// Disruption is the PodDisruptionBudget of a version's pods: how many a
// voluntary disruption (a node drain) may take at once. Without one, a
// version of two or more replicas (or an autoscaled one whose Min is two
// or more) gets MaxUnavailable 1, so that a drain never takes it to zero;
// a version of one replica gets none (a budget that allows no eviction
// would block every drain).
type Disruption struct {
	// MinAvailable is the pods that must stay (a number or "50%").
	MinAvailable *intstr.IntOrString
	// MaxUnavailable is the pods that may go at once (a number or "25%").
	// One of MinAvailable and MaxUnavailable, unless None.
	MaxUnavailable *intstr.IntOrString
	// None builds no budget.
	None bool
}

// fixedReplicas returns the version's replica count, or its autoscaler's
// minimum, and whether it is known (not left to an external autoscaler).
func (v Version) fixedReplicas() (int32, bool) {
	switch {
	case v.Autoscaling != nil:
		return v.Autoscaling.min(), true
	case v.Autoscaled:
		return 0, false
	case v.Replicas != nil:
		return *v.Replicas, true
	}
	return 1, true
}

// budget returns the version's disruption budget with its default applied,
// or nil.
func (v Version) budget() *Disruption {
	if v.Disruption != nil {
		if v.Disruption.None {
			return nil
		}
		return v.Disruption
	}
	if n, ok := v.fixedReplicas(); ok && n >= 2 {
		one := intstr.FromInt32(1)
		return &Disruption{MaxUnavailable: &one}
	}
	return nil
}

func (v Version) validateScaling(p fieldpath.Path) field.ErrorList {
	var errs field.ErrorList
	if a := v.Autoscaling; a != nil {
		ap := p.Child("autoscaling")
		if v.Replicas != nil {
			errs = append(errs, field.Invalid(p.Child("replicas").Field(), *v.Replicas, "must be unset with autoscaling: the autoscaler owns it (autoscaling.min is its floor)"))
		}
		if v.Autoscaled {
			errs = append(errs, field.Invalid(p.Child("autoscaled").Field(), true, "autoscaling builds the autoscaler: leave autoscaled for one built elsewhere"))
		}
		if a.Min < 0 {
			errs = append(errs, field.Invalid(ap.Child("min").Field(), a.Min, "at least 1 (0 means 1): Kubernetes does not scale a HorizontalPodAutoscaler to zero"))
		}
		if a.Max < a.min() {
			errs = append(errs, field.Invalid(ap.Child("max").Field(), a.Max, fmt.Sprintf("at least min, %d", a.min())))
		}
		if a.CPU == 0 && a.Memory == 0 && len(a.Metrics) == 0 {
			errs = append(errs, field.Required(ap.Field(), "a target: cpu, memory or metrics"))
		}
		for _, r := range []struct {
			name   string
			target int32
			res    corev1.ResourceName
		}{{"cpu", a.CPU, corev1.ResourceCPU}, {"memory", a.Memory, corev1.ResourceMemory}} {
			_, requested := v.Resources.Requests[r.res]
			_, limited := v.Resources.Limits[r.res] // a limit alone is the request too
			switch {
			case r.target < 0:
				errs = append(errs, field.Invalid(ap.Child(r.name).Field(), r.target, "a utilisation in percent, more than 0"))
			case r.target > 0 && !requested && !limited:
				errs = append(errs, field.Invalid(ap.Child(r.name).Field(), r.target,
					fmt.Sprintf("a percentage of the %s request, and resources.requests has none: set it", r.name)))
			}
		}
		for k, m := range a.Metrics {
			if m.Type == "" {
				errs = append(errs, field.Required(ap.Child("metrics").Index(k).Child("type").Field(), "Pods, Object, External, Resource or ContainerResource"))
			}
		}
	}
	if d := v.Disruption; d != nil && !d.None {
		errs = append(errs, v.validateBudget(p.Child("disruption"), d)...)
	}
	return errs
}

// validateBudget checks a budget's form, and that it lets a drain evict
// at least one pod of a version whose replica count is known.
func (v Version) validateBudget(dp fieldpath.Path, d *Disruption) field.ErrorList {
	if (d.MinAvailable == nil) == (d.MaxUnavailable == nil) {
		return field.ErrorList{field.Invalid(dp.Field(), field.OmitValueType{}, "one of minAvailable and maxUnavailable (or none)")}
	}
	name, val := "maxUnavailable", d.MaxUnavailable
	if d.MinAvailable != nil {
		name, val = "minAvailable", d.MinAvailable
	}
	n, err := budgetCount(*val)
	if err != nil {
		return field.ErrorList{field.Invalid(dp.Child(name).Field(), val.String(), err.Error())}
	}
	replicas, known := v.fixedReplicas()
	if !known || val.Type == intstr.String && n > 0 && n < 100 {
		return nil
	}
	blocks := name == "maxUnavailable" && n == 0 || name == "minAvailable" && (val.Type == intstr.Int && n >= int(replicas) || val.Type == intstr.String && n == 100)
	if blocks {
		return field.ErrorList{field.Invalid(dp.Child(name).Field(), val.String(), fmt.Sprintf(
			"with %d replicas no pod could ever be evicted, and every node drain would hang: allow at least one", replicas))}
	}
	return nil
}

// budgetCount reads a budget's number, or its percentage ("25%").
func budgetCount(v intstr.IntOrString) (int, error) {
	if v.Type == intstr.Int {
		if v.IntVal < 0 {
			return 0, fmt.Errorf("0 or more")
		}
		return int(v.IntVal), nil
	}
	p, ok := strings.CutSuffix(v.StrVal, "%")
	n, err := strconv.Atoi(p)
	if !ok || err != nil || n < 0 || n > 100 {
		return 0, fmt.Errorf("a number, or a percentage from 0%% to 100%%")
	}
	return n, nil
}

func horizontalPodAutoscaler(m Model, v Version) *autoscalingv2.HorizontalPodAutoscaler {
	a := v.Autoscaling
	name := names.Deployment(m.Name, v.Name)
	h := &autoscalingv2.HorizontalPodAutoscaler{
		TypeMeta:   metav1.TypeMeta{APIVersion: "autoscaling/v2", Kind: "HorizontalPodAutoscaler"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: m.namespace(), Labels: versionLabelsInto(map[string]string{}, &m, v.Name, name)},
	}
	min := a.min()
	h.Spec.MinReplicas = &min
	h.Spec.MaxReplicas = a.Max
	h.Spec.ScaleTargetRef = autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: name}
	for _, r := range []struct {
		target int32
		res    corev1.ResourceName
	}{{a.CPU, corev1.ResourceCPU}, {a.Memory, corev1.ResourceMemory}} {
		if r.target > 0 {
			t := r.target
			h.Spec.Metrics = append(h.Spec.Metrics, autoscalingv2.MetricSpec{
				Type:     autoscalingv2.ResourceMetricSourceType,
				Resource: &autoscalingv2.ResourceMetricSource{Name: r.res, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: &t}},
			})
		}
	}
	for _, ms := range a.Metrics {
		h.Spec.Metrics = append(h.Spec.Metrics, *ms.DeepCopy())
	}
	if a.Behavior != nil {
		h.Spec.Behavior = a.Behavior.DeepCopy()
	}
	return h
}

func podDisruptionBudget(m Model, v Version, d *Disruption) *policyv1.PodDisruptionBudget {
	name := names.Deployment(m.Name, v.Name)
	b := &policyv1.PodDisruptionBudget{
		TypeMeta:   metav1.TypeMeta{APIVersion: "policy/v1", Kind: "PodDisruptionBudget"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: m.namespace(), Labels: versionLabelsInto(map[string]string{}, &m, v.Name, name)},
	}
	b.Spec.Selector = &metav1.LabelSelector{MatchLabels: selectorLabelsInto(map[string]string{}, m.Name, v.Name)}
	if d.MinAvailable != nil {
		x := *d.MinAvailable
		b.Spec.MinAvailable = &x
	} else {
		x := *d.MaxUnavailable
		b.Spec.MaxUnavailable = &x
	}
	return b
}

// HorizontalPodAutoscalers validates m and returns the autoscaler of each
// version with Autoscaling, in version order.
func HorizontalPodAutoscalers(m Model) ([]*autoscalingv2.HorizontalPodAutoscaler, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	var out []*autoscalingv2.HorizontalPodAutoscaler
	for _, v := range m.Versions {
		if v.Autoscaling != nil {
			out = append(out, horizontalPodAutoscaler(m, v))
		}
	}
	return out, nil
}

// PodDisruptionBudgets validates m and returns the disruption budget of
// each version that has one (see Disruption), in version order.
func PodDisruptionBudgets(m Model) ([]*policyv1.PodDisruptionBudget, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	var out []*policyv1.PodDisruptionBudget
	for _, v := range m.Versions {
		if d := v.budget(); d != nil {
			out = append(out, podDisruptionBudget(m, v, d))
		}
	}
	return out, nil
}
