package serving

import (
	"cmp"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	"slices"

	corev1 "k8s.io/api/core/v1"

	"github.com/mlmesh/mlmesh"
)

// ValidationError reports every problem in a spec, each with its field path.
// Its Unwrap method returns each problem as a *field.Error
// (k8s.io/apimachinery/pkg/util/validation/field).
type ValidationError = mlmesh.ValidationError

// Sidecar says how a model's pods ask for the Istio sidecar.
//
// Pods ask with the label sidecar.istio.io/inject, which is what Istio's
// injector webhooks select on: a pod labelled "true" is injected in a
// namespace without the istio-injection label. The annotation of the same
// name is deprecated and, in a default install, never reaches the webhook
// of an unlabelled namespace, so mlmesh does not write it.
type Sidecar string

// The ways pods ask for the sidecar.
const (
	// SidecarDefault puts no marker on the pods: the namespace's
	// istio-injection label decides. This is the zero value.
	SidecarDefault Sidecar = ""
	// SidecarInject labels the pods sidecar.istio.io/inject: "true", for
	// namespaces where injection is off unless a pod asks for it.
	SidecarInject Sidecar = "inject"
	// SidecarSkip labels the pods sidecar.istio.io/inject: "false".
	SidecarSkip Sidecar = "skip"
	// SidecarAmbient puts no marker on the pods and none of the sidecar's
	// settings (proxy.istio.io/config): they run in an ambient namespace,
	// without a sidecar, their traffic carried by the node's ztunnel.
	SidecarAmbient Sidecar = "ambient"
)

// Model is a model and the versions of it that are served. Each version
// becomes a Deployment named <model>-<version>; the model gets one Service,
// named after it, selecting every version's pods.
type Model struct {
	// Name is the model's name: the Service name and the app label. A
	// DNS-1123 label. Required.
	Name string
	// Namespace is where the objects go; empty means "default".
	Namespace string
	// Runtime is the model server; the zero value means TFServing().
	Runtime Runtime
	// Versions are the served versions, at least one, names unique.
	Versions []Version
	// Sidecar says how the pods ask for the Istio sidecar; zero leaves it to
	// the namespace.
	Sidecar Sidecar
	// Labels are added to every object of the model and to its pods. They
	// may not override app, version or app.kubernetes.io/managed-by.
	Labels map[string]string
	// ServiceAccountName runs the pods under this service account (the
	// identity Istio's mTLS and authorization policies see); empty means the
	// namespace's default. The account must exist: pods under an unknown
	// account are never created. In a mesh.App it is the model's Identity
	// (which mlmesh creates) or one of Namespace.ServiceAccounts (which
	// exist already); any other is refused.
	ServiceAccountName string
	// ServedName is the name clients give the model in their requests (the
	// "model" of an OpenAI-compatible request: --served-model-name), when
	// it is not Name: "meta-llama/Llama-3.1-8B-Instruct". Only the LLM
	// servers (vLLM, SGLang: runtimes with LoRA) take another name.
	ServedName string
	// Adapters are the LoRA adapters the model's versions load beside the
	// base model, on the same GPUs, each served under its own name. Only
	// the LLM servers (vLLM, SGLang) load them.
	Adapters []Adapter
}

// Adapter is a LoRA adapter of a model: fine-tuned weights an LLM server
// loads beside its base model and serves under a name of its own.
type Adapter struct {
	// Name is the name clients give it in their requests. Required; unique
	// among the model's adapters and other than its ServedName.
	Name string
	// Source is where the server loads it from: a Hugging Face id or a
	// path (on a ModelVolume). Required.
	Source string
	// Versions are the versions that load it; empty means every version.
	Versions []string
	// Revisions, when set instead of Source, are revisions of the adapter
	// loaded side by side on the same pods (no extra GPU), each under its
	// own name, and the requests for Name are split between them by their
	// weights: a canary of the adapter. The split is made by the
	// InferencePool's endpoint picker (package mesh builds its
	// InferenceModelRewrite), so the model needs InferencePools.
	Revisions []AdapterRevision
}

// AdapterRevision is one revision of an adapter in a canary between
// revisions (Adapter.Revisions).
type AdapterRevision struct {
	// Name is the name the server serves it under ("support-r2"); the
	// requests for the adapter's Name are rewritten to it. Required;
	// unique like every name the model serves.
	Name string
	// Source is where the server loads it from. Required.
	Source string
	// Weight is its share of the adapter's requests, in percent; the
	// revisions' weights add up to 100. A revision of weight 0 stays
	// loaded and is given none.
	Weight int32
}

// Served is the name the server serves the model as, which clients give
// in their requests: ServedName, or Name.
func (m Model) Served() string { return cmp.Or(m.ServedName, m.Name) }

// AdaptersOf returns the adapters version loads, in the model's order.
func (m Model) AdaptersOf(version string) []Adapter {
	var out []Adapter
	for _, a := range m.Adapters {
		if len(a.Versions) == 0 || slices.Contains(a.Versions, version) {
			out = append(out, a)
		}
	}
	return out
}

// Version is one served version of a model.
type Version struct {
	// Name is the version's name ("v1"): the version label and the subset
	// name. A DNS-1123 label. Required.
	Name string
	// Image overrides the runtime's image.
	Image string
	// ModelURI is where the server loads the model from (s3://, gs://, a
	// path); it is passed to the runtime's Args and Env.
	ModelURI string
	// Replicas is the Deployment's replica count; nil means 1.
	Replicas *int32
	// Autoscaled leaves spec.replicas unset so that an autoscaler built
	// elsewhere (KEDA, say) owns it. Replicas must then be nil.
	Autoscaled bool
	// Autoscaling builds a HorizontalPodAutoscaler that owns the replica
	// count. Replicas must then be nil.
	Autoscaling *Autoscaling
	// Disruption is the version's PodDisruptionBudget; nil means the
	// default (see Disruption): MaxUnavailable 1 from two replicas up.
	Disruption *Disruption
	// Resources are the container's requests and limits.
	Resources corev1.ResourceRequirements
	// GPUs adds nvidia.com/gpu to the container's limits (and requests).
	GPUs int64
	// Env is added to the runtime's environment; a name given here wins.
	Env []corev1.EnvVar
	// ImagePullPolicy is the container's pull policy; empty leaves the
	// Kubernetes default (Always for :latest, IfNotPresent otherwise).
	ImagePullPolicy corev1.PullPolicy
	// Args are appended to the runtime's arguments.
	Args []string
	// PodSecurityContext replaces the secure pod defaults (run as non-root
	// user Runtime.RunAsUser, RuntimeDefault seccomp profile).
	PodSecurityContext *corev1.PodSecurityContext
	// SecurityContext replaces the secure container defaults (no privilege
	// escalation, all capabilities dropped).
	SecurityContext *corev1.SecurityContext
	// NodeSelector and Tolerations place the pods (GPU nodes, usually).
	// A version with GPUs and no tolerations tolerates the nvidia.com/gpu
	// taint that GPU nodes carry, as Kubernetes' ExtendedResourceToleration
	// admission would add it.
	NodeSelector map[string]string
	Tolerations  []corev1.Toleration

	// SharedMemory mounts an in-memory emptyDir of this size at /dev/shm:
	// vLLM, PyTorch and Triton need more than the container runtime's
	// 64 MiB. nil means the runtime's default (Runtime.SharedMemory); a
	// zero size, none.
	SharedMemory *resource.Quantity
	// Cache mounts a writable cache (downloaded weights, compiled
	// kernels); the runtime's CacheEnv variable points at it.
	Cache *CacheVolume
	// ModelVolume mounts the model read-only from a PersistentVolumeClaim.
	ModelVolume *ModelVolume
	// ReadOnlyRoot adds a read-only root filesystem to the secure container
	// defaults, with a writable /tmp (Scratch, unlimited unless Scratch
	// says). The presets write only to /tmp and their volumes.
	ReadOnlyRoot bool
	// Scratch mounts a writable emptyDir at /tmp (a size limit, or zero for
	// none), for a container whose root filesystem is read-only.
	Scratch *resource.Quantity
	// Volumes and VolumeMounts add further volumes to the pods and mounts
	// to the model container; each mount names a volume of the pod.
	Volumes      []corev1.Volume
	VolumeMounts []corev1.VolumeMount
	// StartupTimeout is how long the model may take to load before the pod
	// is restarted: a startup probe on the readiness endpoint every 10s,
	// which holds off the readiness and liveness checks until it passes.
	// 0 means the runtime's (Runtime.StartupTimeout); negative, no probe.
	StartupTimeout time.Duration
	// ShutdownGrace is how long a terminating pod may finish in-flight
	// requests: its termination grace period, and the Istio proxy's drain.
	// 0 means the runtime's (Runtime.ShutdownGrace), or Kubernetes' 30s.
	ShutdownGrace time.Duration
}

// namespace returns the model's namespace with its default applied.
func (m Model) namespace() string {
	if m.Namespace == "" {
		return "default"
	}
	return m.Namespace
}

// runtime returns the model's runtime with its default applied.
func (m *Model) runtime() *Runtime {
	if m.Runtime.isZero() {
		return &defaultRuntime
	}
	return &m.Runtime
}

// defaultRuntime is the runtime of a Model that names none. It is shared:
// nothing writes to a runtime it reads.
var defaultRuntime = TFServing()

// VersionNames returns the model's version names in the order given.
func (m Model) VersionNames() []string {
	out := make([]string, len(m.Versions))
	for i, v := range m.Versions {
		out[i] = v.Name
	}
	return out
}

// HasVersion reports whether the model serves a version of that name.
func (m Model) HasVersion(name string) bool {
	return slices.ContainsFunc(m.Versions, func(v Version) bool { return v.Name == name })
}
