package serving_test

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/mlmesh/mlmesh/render"
	"github.com/mlmesh/mlmesh/render/rendertest"
	"github.com/mlmesh/mlmesh/serving"
)

// TestPresetGoldens renders each runtime preset's Service and Deployment
// for a typical version: testdata/<runtime>.golden.yaml.
func TestPresetGoldens(t *testing.T) {
	two := int32(2)
	for _, tc := range []struct {
		rt  serving.Runtime
		uri string
		v   serving.Version
	}{
		{serving.TFServing(), "s3://models/resnet/1", serving.Version{}},
		{serving.Triton(), "gs://models/repo", serving.Version{GPUs: 1}},
		{serving.TorchServe(), "s3://models/store", serving.Version{}},
		{serving.OpenInference("seldonio/mlserver:1.6.1"), "s3://models/sklearn", serving.Version{}},
		{serving.VLLM(), "meta-llama/Llama-3.1-8B-Instruct", serving.Version{GPUs: 1, Cache: &serving.CacheVolume{Size: resource.MustParse("50Gi")}}},
		{serving.SGLang(), "Qwen/Qwen2.5-7B-Instruct", serving.Version{GPUs: 1, Cache: &serving.CacheVolume{ClaimName: "hf-cache"}}},
		{serving.Custom("registry.example.com/scorer:3", serving.Port{Number: 9000, Protocol: serving.HTTP}), "", serving.Version{}},
	} {
		v := tc.v
		v.Name, v.ModelURI, v.Replicas = "v1", tc.uri, &two
		m := serving.Model{Name: "model", Namespace: "ml", Runtime: tc.rt, Versions: []serving.Version{v}}
		svc, err := serving.Service(m)
		if err != nil {
			t.Fatalf("%s: %v", tc.rt.Name, err)
		}
		deps, err := serving.Deployments(m)
		if err != nil {
			t.Fatal(err)
		}
		rendertest.Golden(t, []render.Object{svc, deps[0]}, filepath.Join("testdata", tc.rt.Name+".golden.yaml"))
	}
}

// TestPodSettings: volumes, the startup probe, the grace period and the
// proxy's start and drain, as a version asks for them.
func TestPodSettings(t *testing.T) {
	shm, scratch := resource.MustParse("8Gi"), resource.MustParse("1Gi")
	m := serving.Model{Name: "llm", Runtime: serving.VLLM(), Versions: []serving.Version{{
		Name: "v1", SharedMemory: &shm, Scratch: &scratch,
		ModelVolume:    &serving.ModelVolume{ClaimName: "weights", SubPath: "llama"},
		Volumes:        []corev1.Volume{{Name: "extra", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
		VolumeMounts:   []corev1.VolumeMount{{Name: "extra", MountPath: "/extra"}},
		StartupTimeout: 45 * time.Minute, ShutdownGrace: 5 * time.Minute,
	}}}
	deps, err := serving.Deployments(m)
	if err != nil {
		t.Fatal(err)
	}
	ps := deps[0].Spec.Template.Spec
	c := ps.Containers[0]
	var mounts []string
	for _, vm := range c.VolumeMounts {
		mounts = append(mounts, vm.Name+"="+vm.MountPath)
	}
	if got, want := strings.Join(mounts, " "), "dshm=/dev/shm model=/models scratch=/tmp extra=/extra"; got != want {
		t.Errorf("mounts %s, want %s", got, want)
	}
	if ps.Volumes[0].EmptyDir.Medium != corev1.StorageMediumMemory || ps.Volumes[0].EmptyDir.SizeLimit.String() != "8Gi" {
		t.Errorf("shared memory %+v", ps.Volumes[0])
	}
	if pvc := ps.Volumes[1].PersistentVolumeClaim; pvc == nil || pvc.ClaimName != "weights" || !pvc.ReadOnly || !c.VolumeMounts[1].ReadOnly {
		t.Errorf("model volume %+v %+v", ps.Volumes[1], c.VolumeMounts[1])
	}
	// An empty ModelURI is the model volume: no download, no hold.
	if !strings.Contains(strings.Join(c.Args, " "), "--model=/models") {
		t.Errorf("args %v", c.Args)
	}
	if got := deps[0].Spec.Template.Annotations[serving.ProxyConfigAnnotation]; got != `{"terminationDrainDuration":"300s"}` {
		t.Errorf("proxy config %q", got)
	}
	if c.StartupProbe == nil || c.StartupProbe.FailureThreshold != 270 || c.StartupProbe.PeriodSeconds != 10 || c.StartupProbe.HTTPGet.Path != "/health" {
		t.Errorf("startup probe %+v", c.StartupProbe)
	}
	if diff := cmp.Diff(c.ReadinessProbe.ProbeHandler, c.StartupProbe.ProbeHandler); diff != "" {
		t.Errorf("the startup probe asks another endpoint than readiness (-readiness +startup):\n%s", diff)
	}
	if ps.TerminationGracePeriodSeconds == nil || *ps.TerminationGracePeriodSeconds != 300 {
		t.Errorf("grace %v", ps.TerminationGracePeriodSeconds)
	}
	// A model hub id is downloaded at start: the server waits for the proxy.
	m.Versions[0].ModelVolume, m.Versions[0].ModelURI, m.Versions[0].ShutdownGrace = nil, "org/model", 0
	deps, _ = serving.Deployments(m)
	if got := deps[0].Spec.Template.Annotations[serving.ProxyConfigAnnotation]; got != `{"holdApplicationUntilProxyStarts":true,"terminationDrainDuration":"120s"}` {
		t.Errorf("proxy config %q", got)
	}
	// A read-only root gets a writable /tmp.
	m.Versions[0].ReadOnlyRoot = true
	deps, _ = serving.Deployments(m)
	c = deps[0].Spec.Template.Spec.Containers[0]
	if ro := c.SecurityContext.ReadOnlyRootFilesystem; ro == nil || !*ro || !slices.ContainsFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool { return m.MountPath == "/tmp" }) {
		t.Errorf("read-only root: %v, mounts %v", c.SecurityContext, c.VolumeMounts)
	}
	m.Versions[0].ReadOnlyRoot = false
	// Without a sidecar there is no proxy to configure.
	m.Sidecar = serving.SidecarSkip
	deps, _ = serving.Deployments(m)
	if a := deps[0].Spec.Template.Annotations; a != nil {
		t.Errorf("annotations without a sidecar: %v", a)
	}
}

func TestPodValidation(t *testing.T) {
	neg := resource.MustParse("-1")
	for _, tc := range []struct {
		name   string
		mutate func(v *serving.Version)
		want   string
	}{
		{"mount of a missing volume", func(v *serving.Version) { v.VolumeMounts = []corev1.VolumeMount{{Name: "nope", MountPath: "/x"}} }, `versions[0].volumeMounts[0].name: "nope" not found`},
		{"mount on a taken path", func(v *serving.Version) {
			v.Volumes = []corev1.Volume{{Name: "x", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
			v.VolumeMounts = []corev1.VolumeMount{{Name: "x", MountPath: "/dev/shm"}}
		}, `versions[0].volumeMounts[0].mountPath: duplicate value "/dev/shm"`},
		{"volume name taken", func(v *serving.Version) {
			v.Volumes = []corev1.Volume{{Name: "dshm", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
		}, `versions[0].volumes[0].name: duplicate value "dshm"`},
		{"relative mount path", func(v *serving.Version) { v.Cache = &serving.CacheVolume{MountPath: "cache"} }, `versions[0].cache.mountPath: invalid value "cache": an absolute path`},
		{"cache claim with a size", func(v *serving.Version) {
			v.Cache = &serving.CacheVolume{ClaimName: "c", Size: resource.MustParse("1Gi")}
		}, `versions[0].cache.size: invalid value "1Gi"`},
		{"model volume without a claim", func(v *serving.Version) { v.ModelURI, v.ModelVolume = "", &serving.ModelVolume{} }, `versions[0].modelVolume.claimName: required`},
		{"model URI outside the volume", func(v *serving.Version) { v.ModelVolume = &serving.ModelVolume{ClaimName: "w"} }, `versions[0].modelURI: invalid value "org/model": a path under modelVolume's /models`},
		{"escaping sub path", func(v *serving.Version) {
			v.ModelURI, v.ModelVolume = "", &serving.ModelVolume{ClaimName: "w", SubPath: "../etc"}
		}, `versions[0].modelVolume.subPath: invalid value "../etc"`},
		{"negative shared memory", func(v *serving.Version) { v.SharedMemory = &neg }, `versions[0].sharedMemory: invalid value "-1"`},
		{"startup shorter than a period", func(v *serving.Version) { v.StartupTimeout = time.Second }, `versions[0].startupTimeout: invalid value "1s": at least 10s`},
		{"read-only root with its own security context", func(v *serving.Version) {
			v.ReadOnlyRoot, v.SecurityContext = true, &corev1.SecurityContext{}
		}, `versions[0].readOnlyRoot: invalid value "true": securityContext replaces the secure defaults`},
		{"grace in fractions", func(v *serving.Version) { v.ShutdownGrace = 1500 * time.Millisecond }, `versions[0].shutdownGrace: invalid value "1.5s": whole seconds`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := serving.Model{Name: "llm", Runtime: serving.VLLM(), Versions: []serving.Version{{Name: "v1", ModelURI: "org/model"}}}
			tc.mutate(&m.Versions[0])
			err := m.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Count(err.Error(), "; ") != 0 {
				t.Errorf("got %v\nwant one problem: %s", err, tc.want)
			}
		})
	}
}

// TestAdapters: each version loads the adapters that name it (or name no
// version), with its server's flags, under the model's served name; a
// version without adapters gets no LoRA flag at all.
func TestAdapters(t *testing.T) {
	for _, tc := range []struct {
		rt   serving.Runtime
		want []string
	}{
		{serving.VLLM(), []string{
			"--model=meta-llama/Llama-3.1-8B-Instruct --served-model-name=meta-llama/Llama-3.1-8B-Instruct --host=0.0.0.0 --port=8000 --enable-lora --max-loras=2 --lora-modules support=org/support-lora sql=/models/sql --max-lora-rank=64",
			"--model=meta-llama/Llama-3.1-8B-Instruct --served-model-name=meta-llama/Llama-3.1-8B-Instruct --host=0.0.0.0 --port=8000 --enable-lora --max-loras=1 --lora-modules support=org/support-lora --max-lora-rank=64",
			"--model=meta-llama/Llama-3.1-8B-Instruct --served-model-name=meta-llama/Llama-3.1-8B-Instruct --host=0.0.0.0 --port=8000 --max-lora-rank=64",
		}},
		{serving.SGLang(), []string{
			"--model-path=meta-llama/Llama-3.1-8B-Instruct --served-model-name=meta-llama/Llama-3.1-8B-Instruct --host=0.0.0.0 --port=30000 --enable-lora --max-loras-per-batch=2 --lora-paths support=org/support-lora sql=/models/sql --max-lora-rank=64",
		}},
	} {
		m := serving.Model{Name: "llama", Namespace: "ml", Runtime: tc.rt, ServedName: "meta-llama/Llama-3.1-8B-Instruct",
			Adapters: []serving.Adapter{{Name: "support", Source: "org/support-lora", Versions: []string{"v1", "v2"}}, {Name: "sql", Source: "/models/sql", Versions: []string{"v1"}}}}
		for _, v := range []string{"v1", "v2", "v3"} {
			m.Versions = append(m.Versions, serving.Version{Name: v, ModelURI: "meta-llama/Llama-3.1-8B-Instruct", GPUs: 1, Args: []string{"--max-lora-rank=64"}})
		}
		deps, err := serving.Deployments(m)
		if err != nil {
			t.Fatal(err)
		}
		for i, d := range deps[:len(tc.want)] {
			if got := strings.Join(d.Spec.Template.Spec.Containers[0].Args, " "); got != tc.want[i] {
				t.Errorf("%s %s:\n got %s\nwant %s", tc.rt.Name, d.Name, got, tc.want[i])
			}
		}
	}
}
