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
// default: gRPC 8500, REST 8501), Triton, TorchServe, OpenInference and
// Custom; a new server is just another Runtime value. Service ports are
// named for Istio's protocol selection ("http", "grpc", "http-metrics") and
// carry appProtocol, so HTTP and gRPC can share one Service.
//
// Pods run with secure defaults: non-root (user 1000, or Runtime.RunAsUser),
// no privilege escalation, all capabilities dropped, the RuntimeDefault
// seccomp profile. Version.PodSecurityContext and Version.SecurityContext
// replace them.
package serving
