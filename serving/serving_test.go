package serving_test

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/mlmesh/mlmesh/internal/fielderr/fielderrtest"
	"github.com/mlmesh/mlmesh/serving"
)

func TestService(t *testing.T) {
	ap := func(s string) *string { return &s }
	for _, tc := range []struct {
		name    string
		runtime serving.Runtime
		want    []corev1.ServicePort
	}{
		{"TF Serving: gRPC and REST", serving.TFServing(), []corev1.ServicePort{
			{Name: "grpc", Port: 8500, TargetPort: intstr.FromString("grpc"), Protocol: corev1.ProtocolTCP, AppProtocol: ap("grpc")},
			{Name: "http", Port: 8501, TargetPort: intstr.FromString("http"), Protocol: corev1.ProtocolTCP, AppProtocol: ap("http")},
		}},
		{"Triton: the metrics port stays on the Service", serving.Triton(), []corev1.ServicePort{
			{Name: "http", Port: 8000, TargetPort: intstr.FromString("http"), Protocol: corev1.ProtocolTCP, AppProtocol: ap("http")},
			{Name: "grpc", Port: 8001, TargetPort: intstr.FromString("grpc"), Protocol: corev1.ProtocolTCP, AppProtocol: ap("grpc")},
			{Name: "http-metrics", Port: 8002, TargetPort: intstr.FromString("http-metrics"), Protocol: corev1.ProtocolTCP, AppProtocol: ap("http")},
		}},
		{"custom: names prefixed with the protocol", serving.Custom("img:1", serving.Port{Name: "rest", Number: 9000}, serving.Port{Name: "grpc-api", Number: 9001, Protocol: serving.GRPC}), []corev1.ServicePort{
			{Name: "http-rest", Port: 9000, TargetPort: intstr.FromString("http-rest"), Protocol: corev1.ProtocolTCP, AppProtocol: ap("http")},
			{Name: "grpc-api", Port: 9001, TargetPort: intstr.FromString("grpc-api"), Protocol: corev1.ProtocolTCP, AppProtocol: ap("grpc")},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := serving.Model{Name: "m", Namespace: "ml", Runtime: tc.runtime, Versions: []serving.Version{{Name: "v1", ModelURI: "s3://m/1"}}}
			svc, err := serving.Service(m)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, svc.Spec.Ports); diff != "" {
				t.Errorf("ports (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(map[string]string{"app": "m"}, svc.Spec.Selector); diff != "" {
				t.Errorf("selector (-want +got):\n%s", diff)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	two := int32(2)
	valid := func() serving.Model {
		return serving.Model{Name: "m", Versions: []serving.Version{{Name: "v1", ModelURI: "s3://m/1"}}}
	}
	for _, tc := range []struct {
		name   string
		mutate func(*serving.Model)
		want   []string
	}{
		{"valid", func(*serving.Model) {}, nil},
		{"custom image needs no model URI", func(m *serving.Model) {
			m.Runtime = serving.Custom("img:1", serving.Port{Number: 8080})
			m.Versions[0].ModelURI = ""
		}, nil},
		{"no name", func(m *serving.Model) { m.Name = "" }, []string{"name: required"}},
		{"served name on TF Serving", func(m *serving.Model) { m.ServedName = "resnet/1" }, []string{`servedName: invalid value "resnet/1": runtime "tfserving" serves the model under its name`}},
		{"adapters on TF Serving", func(m *serving.Model) { m.Adapters = []serving.Adapter{{Name: "a", Source: "x"}} }, []string{"adapters: invalid value", "the LLM servers (vllm, sglang) do"}},
		{"adapter on a missing version", func(m *serving.Model) {
			m.Runtime, m.Adapters = serving.VLLM(), []serving.Adapter{{Name: "support", Source: "org/support", Versions: []string{"v1", "v9"}}}
		}, []string{`adapters[0].versions[1]: "v9" not found: the adapter is loaded by versions of the model`}},
		{"adapter named as the base", func(m *serving.Model) {
			m.Runtime, m.ServedName = serving.VLLM(), "llama"
			m.Adapters = []serving.Adapter{{Name: "llama", Source: "org/a"}}
		}, []string{`adapters[0].name: invalid value "llama": is already the name of this model's servedName`}},
		{"two adapters of one name", func(m *serving.Model) {
			m.Runtime = serving.VLLM()
			m.Adapters = []serving.Adapter{{Name: "a", Source: "org/a"}, {Name: "a", Source: "org/b"}}
		}, []string{`adapters[1].name: invalid value "a": is already the name of this model's adapters[0].name`}},
		{"adapter name a server cannot read", func(m *serving.Model) {
			m.Runtime = serving.VLLM()
			m.Adapters = []serving.Adapter{{Name: "a=b", Source: "org/a"}, {Name: "a b", Source: "org/a b"}, {Source: ""}}
		}, []string{`adapters[0].name: invalid value "a=b": may contain only letters, digits and '-', '.', '_', '/', ':' (not '=')`, `adapters[1].name: invalid value "a b": may contain only letters`,
			`adapters[1].source: invalid value "org/a b": has no whitespace`, "adapters[2].name: required", "adapters[2].source: required"}},
		{"no versions", func(m *serving.Model) { m.Versions = nil }, []string{"versions: required"}},
		{"model URI required", func(m *serving.Model) { m.Versions[0].ModelURI = "" }, []string{"versions[0].modelURI: required", `runtime "tfserving"`}},
		{"duplicate version", func(m *serving.Model) { m.Versions = append(m.Versions, m.Versions[0]) }, []string{`versions[1].name: duplicate value "v1"`}},
		{"reserved label", func(m *serving.Model) { m.Labels = map[string]string{"app": "x"} }, []string{"labels[app]: Forbidden: set by mlmesh"}},
		{"bad label value", func(m *serving.Model) { m.Labels = map[string]string{"team": "has space"} }, []string{"labels[team]"}},
		{"replicas and autoscaled", func(m *serving.Model) { m.Versions[0].Replicas, m.Versions[0].Autoscaled = &two, true }, []string{"versions[0].replicas", "autoscaler owns it"}},
		{"image with whitespace", func(m *serving.Model) { m.Versions[0].Image = "a b" }, []string{"versions[0].image"}},
		{"no image at all", func(m *serving.Model) { m.Runtime = serving.OpenInference("") }, []string{"versions[0].image: required"}},
		{"duplicate env", func(m *serving.Model) {
			m.Versions[0].Env = []corev1.EnvVar{{Name: "A", Value: "1"}, {Name: "A", Value: "2"}}
		}, []string{`versions[0].env[1].name: duplicate value "A"`}},
		{"requests above limits, negative, badly named", func(m *serving.Model) {
			m.Versions[0].Resources = corev1.ResourceRequirements{
				Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1"), "bad name": resource.MustParse("1")},
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2"), corev1.ResourceMemory: resource.MustParse("-1Gi")},
			}
		}, []string{`versions[0].resources.limits[bad name]: invalid value "bad name": a resource name: `,
			`versions[0].resources.requests[cpu]: invalid value "2": must be at most the limit, 1`,
			`versions[0].resources.requests[memory]: invalid value "-1Gi": must be 0 or more`}},
		{"bad pull policy", func(m *serving.Model) { m.Versions[0].ImagePullPolicy = "Sometimes" }, []string{"versions[0].imagePullPolicy"}},
		{"port name too long", func(m *serving.Model) {
			m.Runtime = serving.Custom("img:1", serving.Port{Name: "a-very-long-name", Number: 8080})
		}, []string{"runtime.ports[0].name"}},
		{"duplicate port", func(m *serving.Model) {
			m.Runtime = serving.Custom("img:1", serving.Port{Number: 8080}, serving.Port{Name: "b", Number: 8080})
		}, []string{"runtime.ports[1].number: duplicate"}},
		{"duplicate port name", func(m *serving.Model) {
			m.Runtime = serving.Custom("img:1", serving.Port{Name: "api", Number: 8080}, serving.Port{Number: 8081, Protocol: "tcp"}, serving.Port{Name: "api", Number: 8082})
		}, []string{`runtime.ports[2].name: duplicate value "http-api"`}},
		{"lowercase protocol is not one", func(m *serving.Model) {
			m.Runtime = serving.Custom("img:1", serving.Port{Number: 8080, Protocol: "grpc"})
		}, []string{"runtime.ports[0].protocol: unsupported value"}},
		{"unknown sidecar mode", func(m *serving.Model) { m.Sidecar = "maybe" }, []string{"sidecar: unsupported value"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := valid()
			tc.mutate(&m)
			err := m.Validate()
			fielderrtest.Want(t, err, tc.want)
			if len(tc.want) == 0 {
				return
			}
			if deps, err := serving.Deployments(m); err == nil || deps != nil {
				t.Error("Deployments built an invalid model")
			}
		})
	}
}

// TestCheckerAgreesWithCheck checks a sequence of Models that share their
// runtime's ports and their resource lists with one Checker, and requires
// of each the errors Check reports: the Checker may skip what it found
// valid only where nothing its checks read has changed.
func TestCheckerAgreesWithCheck(t *testing.T) {
	rt := serving.TFServing()
	requests := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")}
	negative := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("-1")}
	twice := []serving.Port{{Number: 8500, Protocol: serving.GRPC}, {Number: 8500, Protocol: serving.HTTP}}
	with := func(f func(m *serving.Model)) serving.Model {
		m := serving.Model{Name: "m", Runtime: rt, Versions: []serving.Version{
			{Name: "v1", ModelURI: "s3://m/1", Resources: corev1.ResourceRequirements{Requests: requests}},
		}}
		f(&m)
		return m
	}
	models := []serving.Model{
		with(func(*serving.Model) {}),
		with(func(m *serving.Model) { m.Name = "other" }),
		with(func(m *serving.Model) { m.Runtime.Name = "not a label value!" }),
		with(func(m *serving.Model) { m.Runtime.ReadinessPort = "nope" }),
		with(func(m *serving.Model) { m.Runtime.RunAsUser = -1 }),
		with(func(m *serving.Model) { m.Runtime.Ports = append(m.Runtime.Ports[:1:1], m.Runtime.Ports[0]) }),
		with(func(m *serving.Model) { m.Runtime.Ports = m.Runtime.Ports[:0] }),
		with(func(m *serving.Model) { m.Runtime.Ports = twice[:1] }),
		with(func(m *serving.Model) { m.Runtime.Ports = twice }),
		with(func(*serving.Model) {}),
		with(func(m *serving.Model) { m.Versions[0].Resources.Requests = negative }),
		with(func(m *serving.Model) { m.Versions[0].Resources.Limits = negative }),
		with(func(m *serving.Model) {
			m.Versions[0].Resources.Limits = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m")}
		}),
		with(func(*serving.Model) {}),
	}
	var c serving.Checker
	invalid := 0
	for i := range models {
		_, want := serving.Check(&models[i])
		_, got := c.Check(&models[i])
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("model %d: the Checker reports %v, Check %v", i, got, want)
		}
		if want != nil {
			invalid++
			t.Logf("model %d: %v", i, want)
		}
	}
	if invalid != 9 {
		t.Errorf("%d of the models are invalid, want 9: the sequence no longer tests what it should", invalid)
	}
}
