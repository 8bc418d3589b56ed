package conformance

import (
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/mlmesh/mlmesh/mesh"
	"github.com/mlmesh/mlmesh/serving"
)

// The workload menus (issue 14): autoscaling, disruption budgets, volumes,
// startup and shutdown, the LLM runtimes, with the mistakes among them: a
// budget that blocks drains, replicas beside an autoscaler, a utilisation
// target without a request, mounts of missing volumes, paths outside a
// model volume.

// workloadMutation is the workload menus' mutation.
func workloadMutation(a *mesh.App, f *fuzzBytes) {
	m := someModel(a, f)
	versions := append([]serving.Version(nil), m.Versions...)
	v := &versions[f.next()%len(versions)]
	m.Versions = versions
	q := func(s string) *resource.Quantity { x := resource.MustParse(s); return &x }
	io := func(x intstr.IntOrString) *intstr.IntOrString { return &x }
	switch f.next() % 6 {
	case 0:
		v.Autoscaling = pick(f, nil, &serving.Autoscaling{Max: 4, Metrics: []autoscalingv2.MetricSpec{serving.PodsMetric("istio_requests_per_second", resource.MustParse("5"))}},
			&serving.Autoscaling{Min: 2, Max: 6, CPU: 70}, &serving.Autoscaling{Min: 3, Max: 2, Memory: 80}, &serving.Autoscaling{Max: 3}, &serving.Autoscaling{Min: -1, Max: 3, CPU: 50})
		v.Replicas = pick(f, v.Replicas, nil, ptr[int32](2))
		if pick(f, true, false) {
			v.Resources = corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("2Gi")}}
		}
	case 1:
		v.Disruption = pick(f, nil, &serving.Disruption{None: true}, &serving.Disruption{MaxUnavailable: io(intstr.FromInt32(1))},
			&serving.Disruption{MinAvailable: io(intstr.FromString("50%"))}, &serving.Disruption{MaxUnavailable: io(intstr.FromInt32(0))},
			&serving.Disruption{MinAvailable: io(intstr.FromInt32(2))}, &serving.Disruption{MaxUnavailable: io(intstr.FromString("half"))}, &serving.Disruption{})
		v.Replicas = pick(f, v.Replicas, ptr[int32](1), ptr[int32](3))
	case 2:
		v.SharedMemory = pick(f, nil, q("1Gi"), q("0"), q("-1"))
		v.ReadOnlyRoot = pick(f, false, true)
		v.Scratch = pick(f, nil, q("500Mi"), q("0"))
		v.Cache = pick(f, nil, &serving.CacheVolume{Size: resource.MustParse("20Gi")}, &serving.CacheVolume{ClaimName: "cache"},
			&serving.CacheVolume{ClaimName: "Cache"}, &serving.CacheVolume{MountPath: "relative"}, &serving.CacheVolume{ClaimName: "c", Size: resource.MustParse("1Gi")})
	case 3:
		v.ModelVolume = pick(f, nil, &serving.ModelVolume{ClaimName: "weights"}, &serving.ModelVolume{ClaimName: "weights", SubPath: "m/1"},
			&serving.ModelVolume{ClaimName: "weights", SubPath: "../x"}, &serving.ModelVolume{})
		v.ModelURI = pick(f, v.ModelURI, "", "/models/1", "s3://m/x")
		v.Volumes = pick(f, nil, []corev1.Volume{{Name: "extra", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
			[]corev1.Volume{{Name: "dshm", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}})
		v.VolumeMounts = pick(f, nil, []corev1.VolumeMount{{Name: "extra", MountPath: "/extra"}}, []corev1.VolumeMount{{Name: "missing", MountPath: "/m"}},
			[]corev1.VolumeMount{{Name: "extra", MountPath: "/tmp"}})
	case 4:
		v.StartupTimeout = pick(f, 0, 20*time.Minute, -1, time.Second, 90*time.Second)
		v.ShutdownGrace = pick(f, 0, 90*time.Second, 1500*time.Millisecond, -time.Second)
		v.GPUs = pick[int64](f, 0, 1, 2)
	case 5:
		m.Runtime = pick(f, m.Runtime, serving.VLLM(), serving.SGLang())
		for k := range m.Versions {
			m.Versions[k].ModelURI = pick(f, "org/model", "/models/m", "s3://m/llm")
		}
	}
}
