package serving_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/mlmesh/mlmesh/serving"
)

func scaled() serving.Model {
	return serving.Model{Name: "llm", Namespace: "ml", Versions: []serving.Version{{
		Name: "v1", ModelURI: "s3://m/1",
		Resources:   corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")}},
		Autoscaling: &serving.Autoscaling{Min: 2, Max: 6, CPU: 70, Metrics: []autoscalingv2.MetricSpec{serving.PodsMetric("istio_requests_per_second", resource.MustParse("10"))}},
	}}}
}

func TestAutoscalerAndBudget(t *testing.T) {
	m := scaled()
	hpas, err := serving.HorizontalPodAutoscalers(m)
	if err != nil {
		t.Fatal(err)
	}
	two, seventy, ten := int32(2), int32(70), resource.MustParse("10")
	want := autoscalingv2.HorizontalPodAutoscalerSpec{
		ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "llm-v1"},
		MinReplicas:    &two, MaxReplicas: 6,
		Metrics: []autoscalingv2.MetricSpec{
			{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: &seventy}}},
			{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricSource{Metric: autoscalingv2.MetricIdentifier{Name: "istio_requests_per_second"}, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: &ten}}},
		},
	}
	if len(hpas) != 1 {
		t.Fatalf("%d autoscalers", len(hpas))
	}
	if diff := cmp.Diff(want, hpas[0].Spec); diff != "" {
		t.Errorf("autoscaler (-want +got):\n%s", diff)
	}
	deps, _ := serving.Deployments(m)
	if deps[0].Spec.Replicas != nil {
		t.Errorf("the Deployment sets replicas %d: the autoscaler owns them", *deps[0].Spec.Replicas)
	}
	// Min 2: the default budget lets one pod go at a time.
	pdbs, err := serving.PodDisruptionBudgets(m)
	if err != nil {
		t.Fatal(err)
	}
	one := intstr.FromInt32(1)
	wantPDB := policyv1.PodDisruptionBudgetSpec{
		Selector:       &metav1.LabelSelector{MatchLabels: map[string]string{"app": "llm", "version": "v1"}},
		MaxUnavailable: &one,
	}
	if len(pdbs) != 1 {
		t.Fatalf("%d budgets", len(pdbs))
	}
	if diff := cmp.Diff(wantPDB, pdbs[0].Spec); diff != "" {
		t.Errorf("budget (-want +got):\n%s", diff)
	}
}

func TestDefaultBudgets(t *testing.T) {
	one, two := int32(1), int32(2)
	half := intstr.FromString("50%")
	for _, tc := range []struct {
		name string
		v    serving.Version
		want int
	}{
		{"one replica: none", serving.Version{Replicas: &one}, 0},
		{"default replicas: none", serving.Version{}, 0},
		{"two replicas", serving.Version{Replicas: &two}, 1},
		{"external autoscaler: none", serving.Version{Autoscaled: true}, 0},
		{"opted out", serving.Version{Replicas: &two, Disruption: &serving.Disruption{None: true}}, 0},
		{"given, one replica", serving.Version{Replicas: &one, Disruption: &serving.Disruption{MaxUnavailable: &half}}, 1},
	} {
		tc.v.Name, tc.v.ModelURI = "v1", "s3://m/1"
		pdbs, err := serving.PodDisruptionBudgets(serving.Model{Name: "m", Versions: []serving.Version{tc.v}})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if len(pdbs) != tc.want {
			t.Errorf("%s: %d budgets, want %d", tc.name, len(pdbs), tc.want)
		}
	}
}

func TestScalingValidation(t *testing.T) {
	two, three := int32(2), int32(3)
	zero, all, full := intstr.FromInt32(0), intstr.FromInt32(3), intstr.FromString("100%")
	for _, tc := range []struct {
		name   string
		mutate func(v *serving.Version)
		want   string
	}{
		{"replicas with autoscaling", func(v *serving.Version) { v.Replicas = &two }, `versions[0].replicas: invalid value "2": must be unset with autoscaling`},
		{"both autoscalers", func(v *serving.Version) { v.Autoscaled = true }, `versions[0].autoscaled: invalid value "true"`},
		{"max below min", func(v *serving.Version) { v.Autoscaling.Max = 1 }, `versions[0].autoscaling.max: invalid value "1": at least min, 2`},
		{"no target", func(v *serving.Version) { v.Autoscaling.CPU, v.Autoscaling.Metrics = 0, nil }, `versions[0].autoscaling: required: a target`},
		{"memory without request", func(v *serving.Version) { v.Autoscaling.Memory = 80 }, `versions[0].autoscaling.memory: invalid value "80": a percentage of the memory request, and resources.requests has none`},
		{"negative min", func(v *serving.Version) { v.Autoscaling.Min = -1 }, `versions[0].autoscaling.min`},
		{"budget of both kinds", func(v *serving.Version) {
			v.Disruption = &serving.Disruption{MinAvailable: &zero, MaxUnavailable: &zero}
		}, `versions[0].disruption: one of minAvailable and maxUnavailable`},
		{"budget that blocks drains", func(v *serving.Version) { v.Disruption = &serving.Disruption{MaxUnavailable: &zero} }, `versions[0].disruption.maxUnavailable: invalid value "0": with 2 replicas no pod could ever be evicted`},
		{"min available all", func(v *serving.Version) {
			v.Autoscaling, v.Replicas = nil, &three
			v.Disruption = &serving.Disruption{MinAvailable: &all}
		}, `versions[0].disruption.minAvailable: invalid value "3": with 3 replicas`},
		{"min available 100%", func(v *serving.Version) { v.Disruption = &serving.Disruption{MinAvailable: &full} }, `versions[0].disruption.minAvailable: invalid value "100%"`},
		{"bad percentage", func(v *serving.Version) {
			p := intstr.FromString("half")
			v.Disruption = &serving.Disruption{MaxUnavailable: &p}
		}, `versions[0].disruption.maxUnavailable: invalid value "half": a number, or a percentage`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := scaled()
			tc.mutate(&m.Versions[0])
			err := m.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Count(err.Error(), "; ") != 0 {
				t.Errorf("got %v\nwant one problem: %s", err, tc.want)
			}
		})
	}
}
