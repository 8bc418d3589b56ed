package serving

import (
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/mlmesh/mlmesh"
)

// Protocol is the application protocol of a served port: mlmesh.Protocol,
// the type ingress and egress use too. It decides the Service port's name
// prefix and appProtocol (its value in lowercase), which is how Istio
// picks the protocol for the port.
type Protocol = mlmesh.Protocol

// Protocols a model server port may speak.
const (
	HTTP  = mlmesh.HTTP
	HTTP2 = mlmesh.HTTP2
	GRPC  = mlmesh.GRPC
	TCP   = mlmesh.TCP
)

// lower is the protocol as a Service port name prefix and appProtocol:
// constants for the known ones, as it is on every port of every build.
func lower(p Protocol) string {
	switch p {
	case HTTP:
		return "http"
	case HTTP2:
		return "http2"
	case GRPC:
		return "grpc"
	case TCP:
		return "tcp"
	}
	return strings.ToLower(string(p))
}

// Port is one port a model server listens on.
type Port struct {
	// Name is the port's name. It is prefixed with the protocol in
	// lowercase ("rest" becomes "http-rest") unless it already starts with
	// it; empty means the protocol itself ("http"). At most 15 characters once prefixed.
	Name string
	// Number is the container port, 1-65535. The Service exposes the same number.
	Number int32
	// Protocol is the application protocol; empty means HTTP.
	Protocol Protocol
	// Auxiliary marks a port that serves no inference: metrics, management.
	// It is on the Service and the container like any other, but traffic
	// rules (splits, faults, mirrors) are not routed to it, and it is never
	// the default port of a gateway or a front route.
	Auxiliary bool
}

// ServiceName is the name of the port on the Service and the container:
// the protocol, or the protocol and the Name joined with a dash.
func (p Port) ServiceName() string {
	proto := lower(p.protocol())
	switch {
	case p.Name == "":
		return proto
	case p.Name == proto || len(p.Name) > len(proto) && p.Name[:len(proto)+1] == proto+"-":
		return p.Name
	}
	return proto + "-" + p.Name
}

func (p Port) protocol() Protocol {
	if p.Protocol == "" {
		return HTTP
	}
	return p.Protocol
}

// Runtime describes a model server: its image, its ports, how to start it for
// one model and how to tell it is ready. The presets (TFServing, Triton,
// TorchServe, OpenInference, Custom) return a Runtime a caller may adjust; a
// new server is a new Runtime value, no registration needed.
type Runtime struct {
	// Name identifies the server ("tfserving"); it is the value of the
	// app.kubernetes.io/component label. Required.
	Name string
	// Image is the default container image; a Version's Image overrides it.
	Image string
	// Ports are the ports the server listens on, in the order the Service lists them.
	Ports []Port
	// Command overrides the image's entrypoint; nil keeps it.
	Command []string
	// Args returns the container arguments for a model name and model URI.
	// nil means no arguments.
	Args func(model, uri string) []string
	// Env returns extra environment variables for a model name and model URI.
	Env func(model, uri string) map[string]string
	// ReadinessPath returns the HTTP path of the readiness probe for a model;
	// nil means a TCP probe on the first port.
	ReadinessPath func(model string) string
	// ReadinessPort names the port the readiness probe uses (a Port's Name as
	// given, or its ServiceName); empty means the first HTTP port.
	ReadinessPort string
	// NeedsModelURI says the server cannot start without a model location:
	// every version must then set ModelURI. The presets that load a model
	// from it set this; Custom does not, as its image may hold the model.
	NeedsModelURI bool
	// RunAsUser is the user id the server runs as under the secure pod
	// defaults; 0 means 1000. Root (0) cannot be chosen here: set
	// Version.PodSecurityContext to run as root.
	RunAsUser int64
	// StartupTimeout is how long the server may take to load a model
	// (Version.StartupTimeout overrides it); 0 means no startup probe.
	StartupTimeout time.Duration
	// ShutdownGrace is how long it needs to finish in-flight requests
	// (Version.ShutdownGrace overrides it); 0 means Kubernetes' 30s.
	ShutdownGrace time.Duration
	// SharedMemory is the default size of /dev/shm (Version.SharedMemory
	// overrides it); zero means none.
	SharedMemory resource.Quantity
	// CacheEnv names the variable the server reads its cache directory
	// from (HF_HOME); Version.Cache sets it to the cache's path.
	CacheEnv string
	// HubModels says a ModelURI that is not a path ("meta-llama/...") is a
	// model hub's id, downloaded when the server starts.
	HubModels bool
	// LoRA returns the arguments that load adapters (Model.Adapters) beside
	// the base model; nil means the server loads none.
	LoRA func(adapters []Adapter) []string
	// Paths are the prefixes of the request paths the server answers (its
	// REST API, and its gRPC services as "/package.Service/"), which
	// mesh holds the paths of authorization rules to; nil means unknown.
	Paths []string
}

// TFServing is TensorFlow Serving: gRPC on 8500, REST on 8501, started with
// --model_name and --model_base_path (the ModelURI every version must give),
// ready when GET /v1/models/<name> succeeds, given 5 minutes to load. Its
// image runs as root and writes nothing: it runs under the secure defaults
// as user 1000.
func TFServing() Runtime {
	return Runtime{
		Name:  "tfserving",
		Image: "tensorflow/serving:2.14.0",
		Ports: []Port{{Number: 8500, Protocol: GRPC}, {Number: 8501, Protocol: HTTP}},
		Args: func(model, uri string) []string {
			return []string{"--port=8500", "--rest_api_port=8501", "--model_name=" + model, "--model_base_path=" + uri}
		},
		ReadinessPath:  func(model string) string { return "/v1/models/" + model },
		NeedsModelURI:  true,
		StartupTimeout: 5 * time.Minute,
		Paths:          []string{"/v1/models/", "/monitoring/", "/tensorflow.serving."},
	}
}

// Triton is NVIDIA Triton Inference Server: HTTP on 8000, gRPC on 8001,
// metrics on 8002 (auxiliary: not routed), serving the model repository at
// the model URI (required), ready when GET /v2/health/ready succeeds, given
// 10 minutes to load. Its image runs as root; it runs under the secure
// defaults as user 1000 (the image's triton-server user). Give it
// SharedMemory for Python backends and large batches.
func Triton() Runtime {
	return Runtime{
		Name:    "triton",
		Image:   "nvcr.io/nvidia/tritonserver:24.08-py3",
		Ports:   []Port{{Number: 8000, Protocol: HTTP}, {Number: 8001, Protocol: GRPC}, {Name: "metrics", Number: 8002, Protocol: HTTP, Auxiliary: true}},
		Command: []string{"tritonserver"},
		Args: func(model, uri string) []string {
			return []string{"--model-repository=" + uri, "--http-port=8000", "--grpc-port=8001", "--metrics-port=8002"}
		},
		ReadinessPath:  func(string) string { return "/v2/health/ready" },
		NeedsModelURI:  true,
		StartupTimeout: 10 * time.Minute,
		Paths:          []string{"/v2/", "/metrics", "/inference.GRPCInferenceService/"},
	}
}

// TorchServe is PyTorch's TorchServe: inference on 8080, management on 8081
// and metrics on 8082 (both auxiliary: not routed), loading <model>.mar from
// the model store at the model URI (required), ready when GET /ping succeeds,
// given 10 minutes to load. Its image runs as model-server, user 1000: the
// secure defaults' user.
func TorchServe() Runtime {
	return Runtime{
		Name:  "torchserve",
		Image: "pytorch/torchserve:0.12.0-cpu",
		Ports: []Port{
			{Number: 8080, Protocol: HTTP},
			{Name: "management", Number: 8081, Protocol: HTTP, Auxiliary: true},
			{Name: "metrics", Number: 8082, Protocol: HTTP, Auxiliary: true},
		},
		Command: []string{"torchserve"},
		Args: func(model, uri string) []string {
			return []string{"--foreground", "--disable-token-auth", "--model-store=" + uri, "--models", model + "=" + model + ".mar"}
		},
		ReadinessPath:  func(string) string { return "/ping" },
		NeedsModelURI:  true,
		StartupTimeout: 10 * time.Minute,
		Paths:          []string{"/ping", "/predictions/", "/explanations/", "/v1/models/", "/v2/models/", "/models", "/metrics"},
	}
}

// OpenInference is a server speaking the Open Inference Protocol (KServe v2),
// such as MLServer: HTTP on 8080, gRPC on 8081, ready when
// GET /v2/models/<name>/ready succeeds, given 10 minutes to load. The image
// is the caller's; the model name and URI (required) are passed as
// MODEL_NAME and STORAGE_URI. MLServer's image runs as user 1000, the secure
// defaults' user; set Runtime.RunAsUser for another image's.
func OpenInference(image string) Runtime {
	return Runtime{
		Name:  "open-inference",
		Image: image,
		Ports: []Port{{Number: 8080, Protocol: HTTP}, {Number: 8081, Protocol: GRPC}},
		Env: func(model, uri string) map[string]string {
			return map[string]string{"MODEL_NAME": model, "STORAGE_URI": uri}
		},
		ReadinessPath:  func(model string) string { return "/v2/models/" + model + "/ready" },
		NeedsModelURI:  true,
		StartupTimeout: 10 * time.Minute,
		Paths:          []string{"/v2/", "/inference.GRPCInferenceService/"},
	}
}

// VLLM is vLLM's OpenAI-compatible server (vllm/vllm-openai): HTTP on
// 8000, serving the model of ModelURI (a Hugging Face id, downloaded when
// it starts, or a path on a ModelVolume) as the model's name
// (--served-model-name), ready when GET /health succeeds. The image runs
// as root; here it runs under the secure defaults as user 1000, with HOME
// on /tmp, and HF_HOME on a Version.Cache when there is one (give it one:
// a large model is downloaded on every start otherwise). It gets 2Gi of
// /dev/shm, 30 minutes to load and 2 minutes to finish its requests. Give
// its versions GPUs; pass further engine flags (--max-model-len,
// --tensor-parallel-size) in Version.Args.
//
// Adapters (Model.Adapters) are loaded with --enable-lora, --max-loras (as
// many as the version carries, so that a batch may mix them all) and
// --lora-modules name=source; pass --max-lora-rank in Version.Args for
// adapters of a rank above vLLM's default of 16.
func VLLM() Runtime {
	r := llmServer("vllm", "vllm/vllm-openai:v0.11.0", 8000, "--model",
		[]string{"python3", "-m", "vllm.entrypoints.openai.api_server"},
		"/v1/", "/health", "/metrics", "/version", "/ping", "/tokenize", "/detokenize")
	r.LoRA = loraArgs("--max-loras", "--lora-modules")
	return r
}

// SGLang is SGLang's OpenAI-compatible server (lmsysorg/sglang), the other
// engine most LLM platforms run beside vLLM for its throughput on shared
// prefixes: HTTP on 30000, serving ModelURI (a Hugging Face id or a path)
// as the model's name, ready when GET /health succeeds. Like vLLM's image
// it runs as root; here under the secure defaults as user 1000 with HOME
// on /tmp and HF_HOME on a Version.Cache, with 2Gi of /dev/shm, 30 minutes
// to load and 2 minutes to finish.
//
// Adapters are loaded with --enable-lora, --max-loras-per-batch and
// --lora-paths name=source.
func SGLang() Runtime {
	r := llmServer("sglang", "lmsysorg/sglang:v0.5.19-cu129", 30000, "--model-path",
		[]string{"python3", "-m", "sglang.launch_server"},
		"/v1/", "/health", "/health_generate", "/get_model_info", "/metrics", "/generate")
	r.LoRA = loraArgs("--max-loras-per-batch", "--lora-paths")
	return r
}

// loraArgs loads adapters with the server's flags: how many may share a
// batch (all of them), and the list of name=source, as one flag followed
// by its values (both servers take a list after one flag; a repeated flag
// would keep only its last list).
func loraArgs(maxFlag, listFlag string) func([]Adapter) []string {
	return func(adapters []Adapter) []string {
		if len(adapters) == 0 {
			return nil
		}
		var loaded []string
		for _, a := range adapters {
			if len(a.Revisions) == 0 {
				loaded = append(loaded, a.Name+"="+a.Source)
			}
			for _, r := range a.Revisions { // each revision under its own name
				loaded = append(loaded, r.Name+"="+r.Source)
			}
		}
		return append([]string{"--enable-lora", maxFlag + "=" + strconv.Itoa(len(loaded)), listFlag}, loaded...)
	}
}

// llmServer is what the OpenAI-compatible LLM servers share: one HTTP
// port, the model from modelFlag and served under the model's name,
// /health, HOME on /tmp (the images expect root's), HF_HOME on the cache,
// hub ids downloaded at start, 2Gi of /dev/shm, 30 minutes to load and 2
// to drain.
func llmServer(name, image string, port int32, modelFlag string, command []string, paths ...string) Runtime {
	portFlag := "--port=" + strconv.Itoa(int(port))
	return Runtime{
		Name:    name,
		Image:   image,
		Ports:   []Port{{Number: port, Protocol: HTTP}},
		Command: command,
		Args: func(model, uri string) []string {
			return []string{modelFlag + "=" + uri, "--served-model-name=" + model, "--host=0.0.0.0", portFlag}
		},
		Env:            func(string, string) map[string]string { return map[string]string{"HOME": "/tmp"} },
		ReadinessPath:  func(string) string { return "/health" },
		NeedsModelURI:  true,
		StartupTimeout: 30 * time.Minute,
		ShutdownGrace:  2 * time.Minute,
		SharedMemory:   resource.MustParse("2Gi"),
		CacheEnv:       "HF_HOME",
		HubModels:      true,
		Paths:          paths,
	}
}

// Custom is any image with the given ports. It passes the model name and URI
// as MODEL_NAME and MODEL_URI and probes the first port over TCP, with no
// startup probe. It runs under the secure defaults as user 1000: set
// RunAsUser for an image built for another, or Version.PodSecurityContext.
func Custom(image string, ports ...Port) Runtime {
	return Runtime{
		Name:  "custom",
		Image: image,
		Ports: ports,
		Env: func(model, uri string) map[string]string {
			return map[string]string{"MODEL_NAME": model, "MODEL_URI": uri}
		},
	}
}

func (r *Runtime) isZero() bool {
	return r.Name == "" && r.Image == "" && len(r.Ports) == 0 && r.Args == nil && r.Env == nil && r.ReadinessPath == nil && r.Command == nil &&
		r.ReadinessPort == "" && r.RunAsUser == 0 && !r.NeedsModelURI && r.Paths == nil && r.StartupTimeout == 0 && r.ShutdownGrace == 0 &&
		r.SharedMemory.IsZero() && r.CacheEnv == "" && !r.HubModels && r.LoRA == nil
}

// probePort returns the port the readiness probe targets.
func (r *Runtime) probePort() (Port, bool) {
	for _, p := range r.Ports {
		if r.ReadinessPort != "" && (p.Name == r.ReadinessPort || p.ServiceName() == r.ReadinessPort) {
			return p, true
		}
	}
	if r.ReadinessPort != "" {
		return Port{}, false
	}
	for _, p := range r.Ports {
		if p.protocol() == HTTP {
			return p, true
		}
	}
	if len(r.Ports) > 0 {
		return r.Ports[0], true
	}
	return Port{}, false
}
