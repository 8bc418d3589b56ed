package conformance

import (
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/mlmesh/mlmesh/render"
)

// ProxyImage is the sidecar image the modelled injector adds.
const ProxyImage = "docker.io/istio/proxyv2:1.31.1"

// Pods returns, as a YAML stream, the pods a cluster would run for the
// bundle's Deployments: one per Deployment, from its pod template, with the
// istio-proxy container that Istio's injector adds where it would inject
// (namespace labelled istio-injection=enabled and the pod not opted out, or
// the pod labelled sidecar.istio.io/inject=true in an unlabelled namespace).
// The analyzers that look at pods (subsets selecting no pods, missing
// proxies, gateway selectors) need them.
func Pods(b *Bundle) ([]byte, error) {
	nsInjected, nsAmbient := map[string]string{}, map[string]bool{}
	for _, o := range b.Objects {
		if o.GetKind() == "Namespace" {
			nsInjected[o.GetName()] = o.GetLabels()["istio-injection"]
			nsAmbient[o.GetName()] = o.GetLabels()["istio.io/dataplane-mode"] == "ambient"
		}
	}
	var out []byte
	for _, o := range b.Objects {
		if o.GetKind() != "Deployment" {
			continue
		}
		tmpl, ok, err := unstructured.NestedMap(o.Object, "spec", "template")
		if err != nil || !ok {
			return nil, fmt.Errorf("%s: no pod template", Describe(o))
		}
		meta, _, _ := unstructured.NestedMap(tmpl, "metadata")
		spec, _, _ := unstructured.NestedMap(tmpl, "spec")
		if meta == nil {
			meta = map[string]any{}
		}
		meta["name"] = o.GetName() + "-0"
		meta["namespace"] = o.GetNamespace()
		podLabels, _, _ := unstructured.NestedStringMap(meta, "labels")
		inject := false
		switch nsInjected[o.GetNamespace()] {
		case "enabled":
			inject = podLabels["sidecar.istio.io/inject"] != "false"
		case "":
			inject = podLabels["sidecar.istio.io/inject"] == "true"
		}
		if inject {
			containers, _, _ := unstructured.NestedSlice(spec, "containers")
			containers = append(containers, map[string]any{"name": "istio-proxy", "image": ProxyImage})
			spec["containers"] = containers
		}
		if nsAmbient[o.GetNamespace()] {
			// What Istio's CNI agent writes on a pod it captured.
			ann, _, _ := unstructured.NestedStringMap(meta, "annotations")
			if ann == nil {
				ann = map[string]string{}
			}
			ann["ambient.istio.io/redirection"] = "enabled"
			_ = unstructured.SetNestedStringMap(meta, ann, "annotations")
		}
		pod := map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}
		// mlmesh's own encoder: it escapes what YAML does not allow raw
		// (sigs.k8s.io/yaml writes U+FFFE in a model URI as it is).
		y, err := render.MarshalYAML(&unstructured.Unstructured{Object: pod})
		if err != nil {
			return nil, err
		}
		out = append(out, "---\n"...)
		out = append(out, y...)
	}
	return out, nil
}
