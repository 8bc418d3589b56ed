// Package serving synthesizes the workloads of a model: one Deployment per
// version, named <model>-<version> and labelled app and version (the labels
// Istio's telemetry and DestinationRule subsets use), and one Service named
// after the model that selects every version.
//
// The smallest use:
//
//	m := serving.Model{
//		Name:     "resnet",
//		Versions: []serving.Version{{Name: "v1", ModelURI: "gs://models/resnet/1"}},
//	}
//	deployments, err := serving.Deployments(m)
//	service, err := serving.Service(m)
//
// A Runtime describes the model server. The presets are TFServing (the
// default: gRPC 8500, REST 8501), Triton, TorchServe, OpenInference, the
// LLM servers VLLM and SGLang, and Custom; a new server is just another
// Runtime value. Each preset's documentation says the user its image runs
// as and how it runs under the secure defaults. Service ports are
// named for Istio's protocol selection ("http", "grpc", "http-metrics") and
// carry appProtocol, so HTTP and gRPC can share one Service.
//
// What production pods need is a field of the Version: Autoscaling (a
// HorizontalPodAutoscaler, HorizontalPodAutoscalers), Disruption (a
// PodDisruptionBudget, on by default from two replicas up,
// PodDisruptionBudgets), SharedMemory, Cache, ModelVolume and Scratch
// volumes, StartupTimeout (a startup probe sized for loading the model,
// per runtime) and ShutdownGrace (the grace period and the Istio proxy's
// drain). A version whose model is fetched at start (s3://, gs://, a hub
// id) waits for the Istio proxy (holdApplicationUntilProxyStarts), which
// it fetches through.
//
// Pods run with secure defaults: non-root (user 1000, or Runtime.RunAsUser),
// no privilege escalation, all capabilities dropped, the RuntimeDefault
// seccomp profile. Version.PodSecurityContext and Version.SecurityContext
// replace them.
//
// A Model validated once builds its objects through its Checked value
// (Check). Many Models that share their runtime and resource lists — a
// fleet's — are checked by one Checker, which checks what they share once.
package serving
