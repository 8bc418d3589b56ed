package conformance

import (
	"context"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/mlmesh/mlmesh/mesh"
	"github.com/mlmesh/mlmesh/render"
	"github.com/mlmesh/mlmesh/routing"
	"github.com/mlmesh/mlmesh/serving"
)

// workloadApp has a model of every runtime preset, and versions that use
// every workload setting: autoscaling on CPU, memory and a Pods metric
// with a behavior, budgets by number and percentage, shared memory, a
// cache on a claim and one in memory, a model volume with a sub path,
// scratch, extra volumes, startup and shutdown settings, GPUs.
func workloadApp() mesh.App {
	two, three := int32(2), int32(3)
	half, one := intstr.FromString("50%"), intstr.FromInt32(1)
	shm, scratch := resource.MustParse("4Gi"), resource.MustParse("1Gi")
	window := int32(300)
	requests := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2"), corev1.ResourceMemory: resource.MustParse("8Gi")}
	app := mesh.App{Namespace: mesh.Namespace{Name: "workloads"}}
	for _, rt := range []serving.Runtime{serving.TFServing(), serving.Triton(), serving.TorchServe(), serving.OpenInference("seldonio/mlserver:1.6.1"),
		serving.VLLM(), serving.SGLang(), serving.Custom("registry.example.com/scorer:3", serving.Port{Number: 9000, Protocol: serving.HTTP})} {
		uri := "s3://models/" + rt.Name
		if rt.HubModels {
			uri = "org/" + rt.Name
		}
		app.Models = append(app.Models, mesh.Model{
			Model: serving.Model{Name: rt.Name, Runtime: rt, Versions: []serving.Version{
				{Name: "v1", ModelURI: uri, Replicas: &three, Disruption: &serving.Disruption{MinAvailable: &half}, SharedMemory: &shm,
					Cache: &serving.CacheVolume{ClaimName: "cache-" + rt.Name}, StartupTimeout: 20 * time.Minute, ShutdownGrace: time.Minute},
				{Name: "v2", ModelVolume: &serving.ModelVolume{ClaimName: "weights", SubPath: rt.Name}, Scratch: &scratch, ReadOnlyRoot: true, Resources: corev1.ResourceRequirements{Requests: requests},
					Autoscaling: &serving.Autoscaling{Min: two, Max: 5, CPU: 70, Memory: 80,
						Metrics:  []autoscalingv2.MetricSpec{serving.PodsMetric("istio_requests_per_second", resource.MustParse("3"))},
						Behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleDown: &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: &window}}},
					Disruption: &serving.Disruption{MaxUnavailable: &one}, GPUs: 1,
					Volumes:      []corev1.Volume{{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}}}}},
					VolumeMounts: []corev1.VolumeMount{{Name: "config", MountPath: "/etc/model", ReadOnly: true}}},
			}},
			Traffic: mesh.Traffic{Rules: []routing.Rule{{Split: routing.SplitOf(map[string]int32{"v1": 50, "v2": 50})}}},
		})
	}
	if app.Models[6].Versions[1].ModelURI == "" { // Custom takes a path too
		app.Models[6].Versions[1].ModelURI = "/models/custom"
	}
	return app
}

// TestWorkloadsOnAPIServer applies the workloads of every runtime preset
// with every workload setting to the real kube-apiserver, server-side with
// strict field validation (autoscalers and budgets validated as the API
// server does), twice; the bundle passes Istio's checks too.
func TestWorkloadsOnAPIServer(t *testing.T) {
	app := workloadApp()
	checkApp(t, app)
	s := apiServer(t)
	objs, err := mesh.Build(app)
	if err != nil {
		t.Fatal(err)
	}
	y, err := render.YAML(objs)
	if err != nil {
		t.Fatal(err)
	}
	b, err := ParseBundle("workloads", y)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	ctx := context.Background()
	for pass := range 2 {
		for _, o := range b.Objects {
			got, err := s.Apply(ctx, o)
			if err != nil {
				t.Fatalf("pass %d: %s: server-side apply rejected: %v", pass, Describe(o), err)
			}
			if pass == 0 {
				kinds[got.GetKind()]++
			}
		}
	}
	if kinds["HorizontalPodAutoscaler"] != 7 || kinds["PodDisruptionBudget"] != 14 || kinds["Deployment"] != 14 {
		t.Errorf("applied %v", kinds)
	}
}
