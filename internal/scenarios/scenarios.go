// Package scenarios holds the Apps of the seed scenarios: the fixtures that
// the example programs print (examples/<name>), examples/apply applies, the
// golden files of examples/<name>/testdata pin and the conformance suite
// holds to Istio and a real API server. The library's own tests do not use
// them.
package scenarios

import (
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/mlmesh/mlmesh/egress"
	"github.com/mlmesh/mlmesh/ingress"
	"github.com/mlmesh/mlmesh/mesh"
	"github.com/mlmesh/mlmesh/render"
	"github.com/mlmesh/mlmesh/routing"
	"github.com/mlmesh/mlmesh/security"
	"github.com/mlmesh/mlmesh/serving"
)

// ByName maps each example's name to its App in the routing dialect api;
// the bool asks for the promoted state where a scenario has one
// (algorithm-selector).
var ByName = map[string]func(promote bool, api mesh.API) mesh.App{
	"tfserving-canary":   TFServingCanary,
	"smart-canary":       SmartCanary,
	"multi-model":        MultiModel,
	"algorithm-selector": AlgorithmSelector,
	"kubeflow-inception": KubeflowInception,
	"pulumi-canary":      PulumiCanary,
	"secure-model":       SecureModel,
	"llm":                LLM,
}

// TFServingCanary is a 90/10 canary between two versions of a TensorFlow
// Serving model (seed 001): vjan-service v1 and v2, two replicas each, in a
// namespace labelled for sidecar injection, with strict mTLS.
func TFServingCanary(_ bool, api mesh.API) mesh.App {
	replicas := int32(2)
	return mesh.App{
		API:       api,
		Namespace: mesh.Namespace{Name: "vjan", MTLS: mesh.MTLSStrict},
		Models: []mesh.Model{{
			Model: serving.Model{
				Name:    "vjan-service",
				Runtime: serving.TFServing(),
				Versions: []serving.Version{
					{Name: "v1", ModelURI: "gs://vjan-models/vjan/1", Replicas: &replicas},
					{Name: "v2", ModelURI: "gs://vjan-models/vjan/2", Replicas: &replicas},
				},
			},
			Traffic: mesh.Traffic{
				Rules: []routing.Rule{{
					Split: routing.SplitOf(map[string]int32{"v1": 90, "v2": 10}),
				}},
				Policy: &routing.TrafficPolicy{TLS: routing.TLSIstioMutual},
			},
		}},
	}
}

// SmartCanary is a "smart canary" (seed 001): requests whose user-agent
// matches the RE2 regex .*chrome.* go to v2 of vjan-service, every other
// request to v1.
func SmartCanary(_ bool, api mesh.API) mesh.App {
	replicas := int32(2)
	return mesh.App{
		API:       api,
		Namespace: mesh.Namespace{Name: "vjan"},
		Models: []mesh.Model{{
			Model: serving.Model{
				Name: "vjan-service",
				Versions: []serving.Version{
					{Name: "v1", ModelURI: "gs://vjan-models/vjan/1", Replicas: &replicas},
					{Name: "v2", ModelURI: "gs://vjan-models/vjan/2"},
				},
			},
			Traffic: mesh.Traffic{Rules: []routing.Rule{
				{
					Name:  "chrome",
					Match: []routing.Match{{Headers: map[string]routing.StringMatch{"user-agent": routing.Regex(".*chrome.*")}}},
					Split: []routing.Destination{{Subset: "v2"}},
				},
				{
					Name:  "default",
					Split: []routing.Destination{{Subset: "v1"}},
				},
			}},
		}},
	}
}

// MultiModel is "smart canarization" (seed 001): each model in its own
// Deployment and Service, all reached through one public host,
// models.example.com, with the model chosen by the x-model request header. A
// request naming no known model gets 404.
func multiModel(name string) mesh.Model {
	return mesh.Model{Model: serving.Model{
		Name:     name,
		Versions: []serving.Version{{Name: "v1", ModelURI: "gs://vjan-models/" + name + "/1"}},
	}}
}

func MultiModel(_ bool, api mesh.API) mesh.App {
	return mesh.App{
		API:       api,
		Namespace: mesh.Namespace{Name: "models"},
		Models:    []mesh.Model{multiModel("resnet"), multiModel("inception"), multiModel("mobilenet")},
		Gateways: []ingress.Spec{{
			Name:    "models-gateway",
			Servers: []ingress.Server{{Port: 80, Hosts: []string{"models.example.com"}}},
		}},
		Routes: []mesh.Route{{
			Name:    "models",
			Gateway: "models-gateway",
			Hosts:   []string{"models.example.com"},
			Rules: mesh.HeaderSelector("x-model", map[string]string{
				"resnet":    "resnet",
				"inception": "inception",
				"mobilenet": "mobilenet",
			}),
		}},
	}
}

// AlgorithmSelector is the algorithm selector of seeds 000 and 002: a
// namespace with sidecar injection, a ServiceEntry that lets the model servers
// read the S3 feature store, an ingress Gateway on port 31400, and a 70/30
// canary between v1 and v2. With -promote it prints the promoted state: all
// traffic on v2, v1 kept running at weight 0 for a quick rollback.
func AlgorithmSelector(promote bool, api mesh.API) mesh.App {
	split := map[string]int32{"v1": 70, "v2": 30}
	if promote {
		split = map[string]int32{"v1": 0, "v2": 100}
	}
	return mesh.App{
		API:       api,
		Namespace: mesh.Namespace{Name: "algorithm-selector"},
		Egress:    []egress.Spec{egress.S3("featurestore-s3", "", "us-east-1", "algorithm-selector-features")},
		Gateways: []ingress.Spec{{
			Name:    "algorithm-selector-gateway",
			Servers: []ingress.Server{{Port: 31400, Hosts: []string{"*"}}},
		}},
		Models: []mesh.Model{{
			Model: serving.Model{
				Name: "algo-selector",
				Versions: []serving.Version{
					{Name: "v1", ModelURI: "s3://algorithm-selector-models/algo-selector/1"},
					{Name: "v2", ModelURI: "s3://algorithm-selector-models/algo-selector/2"},
				},
			},
			Traffic: mesh.Traffic{
				Rules: []routing.Rule{{
					Split:   routing.SplitOf(split),
					Timeout: 10e9, // 10s: inference is slow, but not unbounded
					Retries: &routing.Retries{Attempts: 1, RetryOn: []string{"connect-failure", "refused-stream"}},
				}},
			},
			Expose: &mesh.Expose{Gateway: "algorithm-selector-gateway"},
		}},
	}
}

// KubeflowInception is the Kubeflow rollout of seed 003: the inception model
// served by TensorFlow Serving, the sidecar injected by pod annotation only
// (the namespace is not labelled), egress to Google Cloud Storage for the
// model files, and 5% of traffic moved to v2.
func KubeflowInception(_ bool, api mesh.API) mesh.App {
	return mesh.App{
		API:       api,
		Namespace: mesh.Namespace{Name: "kubeflow", Injection: mesh.InjectPods},
		Egress:    []egress.Spec{egress.GCS("model-store-gcs", "")},
		Models: []mesh.Model{{
			Model: serving.Model{
				Name:    "inception",
				Runtime: serving.TFServing(),
				Versions: []serving.Version{
					{Name: "v1", ModelURI: "gs://kubeflow-examples-data/inception/1"},
					{Name: "v2", ModelURI: "gs://kubeflow-examples-data/inception/2"},
				},
			},
			Traffic: mesh.Traffic{Rules: []routing.Rule{{
				Split: routing.SplitOf(map[string]int32{"v1": 95, "v2": 5}),
			}}},
		}},
	}
}

// PulumiCanary is the canary of seed 004 done right: the ml-model v1 and v2
// Deployments behind one Service, and 90/10 between two subsets of that one
// host. (The seed's sketch points its two destinations at two hosts, ml-
// model-v1 and ml-model-v2, that no Service defines: Envoy would answer 503.)
// The model speaks the Open Inference Protocol through MLServer.
func PulumiCanary(_ bool, api mesh.API) mesh.App {
	return mesh.App{
		API:       api,
		Namespace: mesh.Namespace{Name: "ml"},
		Models: []mesh.Model{{
			Model: serving.Model{
				Name:    "ml-model",
				Runtime: serving.OpenInference("seldonio/mlserver:1.6.1"),
				Versions: []serving.Version{
					{Name: "v1", ModelURI: "s3://ml-models/ml-model/1"},
					{Name: "v2", ModelURI: "s3://ml-models/ml-model/2"},
				},
			},
			Traffic: mesh.Traffic{
				Rules: []routing.Rule{{
					Split: routing.SplitOf(map[string]int32{"v1": 90, "v2": 10}),
				}},
			},
		}},
	}
}

// Write validates and builds the named scenario and writes its YAML stream
// to w.
func Write(w io.Writer, name string, promote bool) error {
	return WriteAPI(w, name, promote, mesh.IstioAPI)
}

// WriteAPI writes the manifests of a scenario in the routing dialect api.
func WriteAPI(w io.Writer, name string, promote bool, api mesh.API) error {
	app, ok := ByName[name]
	if !ok {
		return fmt.Errorf("no scenario %q", name)
	}
	objs, err := mesh.Build(app(promote, api))
	if err != nil {
		return err
	}
	return render.WriteYAML(w, objs)
}

// SecureModel is a model endpoint locked down: strict mTLS in its
// namespace, which denies by default; only the frontend of namespace web
// may POST to the ranker model inside the mesh; from outside, the ingress
// gateway requires a valid token of the company's issuer (on HTTPS, with
// HTTP redirected) and may only call the predict endpoint; the model's pods
// run as their own service account, which assumes an IAM role on EKS to
// read their S3 model store, and their proxies may reach that store and
// nothing else.
func SecureModel(_ bool, api mesh.API) mesh.App {
	replicas := int32(2)
	issuer := security.JWT{Issuer: "https://auth.example.com", JWKSURI: "https://auth.example.com/.well-known/jwks.json", Audiences: []string{"ranker"}}
	ns := mesh.Namespace{Name: "ranking", MTLS: mesh.MTLSStrict, DefaultDeny: true, ScopeSidecars: true}
	gateways := []ingress.Spec{{
		Name: "ranking-gateway",
		Servers: []ingress.Server{
			{Port: 443, Protocol: ingress.HTTPS, Hosts: []string{"ranker.example.com"}, TLS: &ingress.ServerTLS{Mode: ingress.TLSSimple, CredentialName: "ranker-example-com"}},
			{Port: 80, Hosts: []string{"ranker.example.com"}, HTTPSRedirect: true},
		},
	}}
	// The gateway's identity: Istio's ingress gateway, or the Deployment
	// Istio makes for a Gateway API Gateway.
	gatewaySA, _ := mesh.App{API: api, Namespace: ns, Gateways: gateways}.GatewayServiceAccount("ranking-gateway")
	return mesh.App{
		API:        api,
		Namespace:  ns,
		Egress:     []egress.Spec{egress.S3("model-store", "", "eu-west-1", "ranking-models")},
		Gateways:   gateways,
		GatewayJWT: []mesh.GatewayJWT{{Gateway: "ranking-gateway", JWT: []security.JWT{issuer}}},
		Models: []mesh.Model{{
			Model: serving.Model{
				Name: "ranker",
				Versions: []serving.Version{
					{Name: "v1", ModelURI: "s3://ranking-models/ranker/1", Replicas: &replicas},
				},
			},
			Identity: &security.Identity{AWSRoleARN: "arn:aws:iam::123456789012:role/ranking-model-reader"},
			Access: &mesh.Access{Allow: []security.Rule{
				{From: []security.Caller{{ServiceAccount: "web/frontend"}}, Methods: []string{"POST"}},
				{
					From:    []security.Caller{{ServiceAccount: gatewaySA}},
					Methods: []string{"POST"}, Paths: []string{"/v1/models/ranker:predict"}, Ports: []uint32{8501},
				},
			}},
			Expose: &mesh.Expose{Gateway: "ranking-gateway", Hosts: []string{"ranker.example.com"}, RequireJWT: true},
		}},
	}
}

// LLM is a large language model on vLLM, one GPU per pod: v1 and a
// fine-tuned v2 at 90/10, each scaled by a HorizontalPodAutoscaler on the
// requests per second the mesh measures (2 to 8 pods; a disruption budget
// keeps a node drain from taking either to zero), with 8Gi of /dev/shm and
// an 80Gi cache for the weights it downloads from Hugging Face (30 minutes
// to load, 2 to drain), exposed on the gateway over HTTPS with a long
// timeout and no retries: a retried generation is paid for twice. (The
// Gateway API's standard channel cannot turn retries off: in that dialect
// Istio's default retries apply.)
func LLM(_ bool, api mesh.API) mesh.App {
	shm := resource.MustParse("8Gi")
	version := func(name, uri string) serving.Version {
		return serving.Version{
			Name: name, ModelURI: uri, GPUs: 1,
			Args: []string{"--max-model-len=8192"},
			Env: []corev1.EnvVar{{Name: "HF_TOKEN", ValueFrom: &corev1.EnvVarSource{
				SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "hf-token"}, Key: "token"},
			}}},
			Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
				corev1.ResourceCPU: resource.MustParse("4"), corev1.ResourceMemory: resource.MustParse("24Gi"),
			}},
			NodeSelector: map[string]string{"nvidia.com/gpu.present": "true"},
			SharedMemory: &shm,
			Cache:        &serving.CacheVolume{Size: resource.MustParse("80Gi")},
			Autoscaling: &serving.Autoscaling{Min: 2, Max: 8, Metrics: []autoscalingv2.MetricSpec{
				serving.PodsMetric("istio_requests_per_second", resource.MustParse("2")),
			}},
		}
	}
	app := mesh.App{
		API:       api,
		Namespace: mesh.Namespace{Name: "llm", MTLS: mesh.MTLSStrict},
		// Hugging Face: the API, and the CDNs the weights come from.
		Egress: []egress.Spec{egress.API("huggingface", "", "huggingface.co", "cdn-lfs.huggingface.co", "cdn-lfs-us-1.hf.co", "cas-bridge.xethub.hf.co")},
		Gateways: []ingress.Spec{{
			Name: "llm-gateway",
			Servers: []ingress.Server{{Port: 443, Protocol: ingress.HTTPS, Hosts: []string{"chat.example.com"},
				TLS: &ingress.ServerTLS{Mode: ingress.TLSSimple, CredentialName: "chat-example-com"}}},
		}},
		Models: []mesh.Model{{
			Model: serving.Model{
				Name:    "chat",
				Runtime: serving.VLLM(),
				Versions: []serving.Version{
					version("v1", "meta-llama/Llama-3.1-8B-Instruct"),
					version("v2", "acme/llama-3.1-8b-support"),
				},
			},
			Traffic: mesh.Traffic{Rules: []routing.Rule{{
				Split:   routing.SplitOf(map[string]int32{"v1": 90, "v2": 10}),
				Timeout: 5 * time.Minute,    // a long generation
				Retries: &routing.Retries{}, // none: a retried generation is paid for twice
			}}},
			Expose: &mesh.Expose{Gateway: "llm-gateway", Hosts: []string{"chat.example.com"}},
		}},
	}
	if api != mesh.IstioAPI {
		// The Gateway API's standard channel cannot turn retries off:
		// Istio's default applies (2 attempts, on connect failures,
		// refused streams and 503, before a generation has started).
		app.Models[0].Traffic.Rules[0].Retries = nil
	}
	return app
}

// LLMPools is LLM in the Gateway API dialect with an InferencePool per
// version, whose endpoint pickers (chat-v1-epp, chat-v2-epp, the latter
// failing open) the platform deploys: v2 previewed by the header
// x-preview: v2, every other request on v1, each rule to one pool (Istio
// gives a rule one picker, so a weighted split between pools is refused).
// It is not in ByName: the Istio dialect has no pools.
func LLMPools() mesh.App {
	a := LLM(false, mesh.GatewayAPI)
	m := &a.Models[0]
	m.Traffic.Rules = []routing.Rule{
		{Match: []routing.Match{{Headers: map[string]routing.StringMatch{"x-preview": routing.Exact("v2")}}}, Split: []routing.Destination{{Subset: "v2"}}, Timeout: 5 * time.Minute},
		{Split: []routing.Destination{{Subset: "v1"}}, Timeout: 5 * time.Minute},
	}
	m.Inference = &mesh.Inference{Pickers: map[string]serving.EndpointPicker{"v1": {Service: "chat-v1-epp"}, "v2": {Service: "chat-v2-epp", FailOpen: true}}}
	return a
}

// LLMEndpoint is one OpenAI-compatible host, llm.example.com, in front of
// two base models on vLLM and three LoRA adapters, routed by the model
// each request's body names: "meta-llama/Llama-3.1-8B-Instruct" (model
// chat: v1 at 90%, v2 at 10%) with adapters "support" (both versions) and
// "sql" (v2 only); "Qwen/Qwen2.5-7B-Instruct" (model qwen, through an
// InferencePool whose endpoint picker the platform deploys) with adapter
// "summarize" in a canary between two revisions on the same pods, 90/10.
// An unknown model is answered 404. Callers' tokens (issued
// by https://auth.example.com, validated at the gateway) set their
// priority class from the claim "tier" (interactive before batch, as
// InferenceObjectives of qwen's pool) and their fairness id from "sub";
// copies of those headers a client sends are removed. The Gateway API
// dialect only (the body router is a filter on the endpoint's own
// Gateway): it is not in ByName.
func LLMEndpoint() mesh.App {
	app := LLM(false, mesh.GatewayAPI)
	app.Gateways[0].Servers[0].Hosts = []string{"chat.example.com", "llm.example.com"}
	chat := &app.Models[0]
	chat.ServedName = "meta-llama/Llama-3.1-8B-Instruct"
	chat.Versions[1].ModelURI = chat.Versions[0].ModelURI // v2: a new engine build, the same weights
	chat.Versions[1].Image = "vllm/vllm-openai:v0.11.1"
	chat.Adapters = []serving.Adapter{
		{Name: "support", Source: "acme/llama-3.1-8b-support-lora"},
		{Name: "sql", Source: "acme/llama-3.1-8b-sql-lora", Versions: []string{"v2"}},
	}
	qwen := app.Models[0]
	qwen.Model = serving.Model{Name: "qwen", Runtime: serving.VLLM(), ServedName: "Qwen/Qwen2.5-7B-Instruct",
		Versions: []serving.Version{chat.Versions[0]},
		// A canary of the adapter's second revision, on the same pods: the
		// pool's endpoint picker rewrites 10% of "summarize" to it.
		Adapters: []serving.Adapter{{Name: "summarize", Revisions: []serving.AdapterRevision{
			{Name: "summarize-r1", Source: "acme/qwen2.5-7b-summarize-lora@r1", Weight: 90},
			{Name: "summarize-r2", Source: "acme/qwen2.5-7b-summarize-lora@r2", Weight: 10},
		}}}}
	qwen.Inference = &mesh.Inference{Pickers: map[string]serving.EndpointPicker{"v1": {Service: "qwen-v1-epp"}}}
	qwen.Versions[0].ModelURI = "Qwen/Qwen2.5-7B-Instruct"
	qwen.Traffic = mesh.Traffic{Rules: []routing.Rule{{Split: []routing.Destination{{Subset: "v1"}}, Timeout: 5 * time.Minute}}}
	qwen.Expose = nil
	app.Models = append(app.Models, qwen)
	app.GatewayJWT = []mesh.GatewayJWT{{Gateway: "llm-gateway", JWT: []security.JWT{
		{Issuer: "https://auth.example.com", JWKSURI: "https://auth.example.com/.well-known/jwks.json", Audiences: []string{"llm"}},
	}}}
	app.Endpoints = []mesh.Endpoint{{
		Name: "llm", Gateway: "llm-gateway", Host: "llm.example.com",
		Models: []string{"chat", "qwen"},
		Priority: &mesh.EndpointPriority{ObjectiveClaim: "tier", FairnessClaim: "sub",
			Objectives: []mesh.EndpointObjective{{Name: "interactive", Priority: 10}, {Name: "batch", Priority: -10}}},
	}}
	return app
}

// Print is how an example program ends: it writes app's manifests on
// stdout with mesh.Render (which validates the App and cross-checks its
// objects first), or, when err or the App has a problem, says so on
// stderr, named by the program, and exits 1.
func Print(program string, app mesh.App, err error) {
	if err == nil {
		err = mesh.Render(os.Stdout, app)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, program+":", err)
		os.Exit(1)
	}
}

// APIFlag defines the example programs' -api flag (APIUsage), parses the
// command line and returns the flag's value: define a program's other
// flags before calling it.
func APIFlag() string {
	api := flag.String("api", "istio", APIUsage)
	flag.Parse()
	return *api
}

// APIUsage is the usage of the example programs' -api flag.
const APIUsage = `the routing dialect: "istio" (VirtualServices, DestinationRule subsets, Istio Gateways), "gateway" (Kubernetes Gateway API routes and Gateways) or "ambient" (the Gateway API's, in an ambient namespace with a waypoint)`

// Dialect returns the named scenario's App in the dialect of the -api
// flag (APIUsage).
func Dialect(name string, promote bool, api string) (mesh.App, error) {
	scenario, ok := ByName[name]
	if !ok {
		return mesh.App{}, fmt.Errorf("no scenario %q", name)
	}
	if api == "ambient" {
		return Ambient(scenario(promote, mesh.GatewayAPI)), nil
	}
	dialect, err := ParseAPI(api)
	if err != nil {
		return mesh.App{}, err
	}
	return scenario(promote, dialect), nil
}

// Ambient moves an App to an ambient namespace: its routes and policies
// applied by the namespace's waypoint, its pods without sidecars, and so
// without the sidecars' settings (the pods' sidecar markers, and the
// Sidecar resources of ScopeSidecars, which ambient mode ignores).
func Ambient(app mesh.App) mesh.App {
	app.Namespace.Injection = mesh.InjectAmbient
	app.Namespace.ScopeSidecars = false
	app.Models = slices.Clone(app.Models)
	for i := range app.Models {
		app.Models[i].Sidecar = serving.SidecarDefault
	}
	return app
}

// ParseAPI reads the -api flag of the example programs, but "ambient" (see
// Dialect).
func ParseAPI(s string) (mesh.API, error) {
	switch s {
	case "istio", "":
		return mesh.IstioAPI, nil
	case "gateway":
		return mesh.GatewayAPI, nil
	}
	return "", fmt.Errorf("-api %q: want istio, gateway or ambient", s)
}
