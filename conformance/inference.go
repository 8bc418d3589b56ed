package conformance

import (
	"fmt"

	istiogateway "istio.io/istio/pilot/pkg/config/kube/gateway"
	"istio.io/istio/pilot/pkg/features"
	"istio.io/istio/pkg/config/constants"
	"istio.io/istio/pkg/config/schema/gvr"
	"istio.io/istio/pkg/kube"
	"istio.io/istio/pkg/kube/kclient/clienttest"
	"istio.io/istio/pkg/test"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// inferencePoolKube turns on Istio's Inference Extension support when
// bundle b has InferencePools (istiod's ENABLE_GATEWAY_API_INFERENCE_EXTENSION=true)
// and returns what the cluster then holds for each pool: the shadow
// Service Istio's controller makes for it (<pool>-ip-<hash>, headless,
// selecting the pool's pods, labelled with its endpoint picker), written
// here as that controller writes it, since its reconciler races the
// config generator in the fake; and the picker's Service, which the
// caller deploys. The modifier installs the InferencePool CRD in the
// fake cluster, which Istio's informer waits for.
func inferencePoolKube(t test.Failer, b *Bundle) (objects []string, modifier func(kube.Client)) {
	var out []string
	pickers := map[string]bool{}
	for _, o := range b.Objects {
		if o.GetKind() != "InferencePool" {
			continue
		}
		test.SetForTest(t, &features.EnableGatewayAPIInferenceExtension, true)
		modifier = func(c kube.Client) { clienttest.MakeCRD(t, c, gvr.InferencePool) }
		out = append(out, shadowService(o))
		name, _, _ := unstructured.NestedString(o.Object, "spec", "endpointPickerRef", "name")
		port, _, _ := unstructured.NestedInt64(o.Object, "spec", "endpointPickerRef", "port", "number")
		if key := o.GetNamespace() + "/" + name; !pickers[key] {
			pickers[key] = true
			out = append(out, fmt.Sprintf(`apiVersion: v1
kind: Service
metadata:
  name: %s
  namespace: %s
spec:
  clusterIP: 10.96.2.%d
  selector:
    app: %[1]s
  ports:
  - name: grpc-ext-proc
    port: %[4]d
    appProtocol: http2
`, name, o.GetNamespace(), len(pickers), port))
		}
	}
	return out, modifier
}

// shadowService is the Service Istio's inference pool controller makes for
// pool (translateShadowServiceToService in its gateway controller).
func shadowService(pool *unstructured.Unstructured) string {
	name, _ := istiogateway.InferencePoolServiceName(pool.GetName())
	sel, _, _ := unstructured.NestedStringMap(pool.Object, "spec", "selector", "matchLabels")
	ports, _, _ := unstructured.NestedSlice(pool.Object, "spec", "targetPorts")
	picker, _, _ := unstructured.NestedString(pool.Object, "spec", "endpointPickerRef", "name")
	pickerPort, _, _ := unstructured.NestedInt64(pool.Object, "spec", "endpointPickerRef", "port", "number")
	mode, _, _ := unstructured.NestedString(pool.Object, "spec", "endpointPickerRef", "failureMode")
	svc := map[string]any{
		"apiVersion": "v1", "kind": "Service",
		"metadata": map[string]any{"name": name, "namespace": pool.GetNamespace(), "labels": map[string]any{
			istiogateway.InferencePoolRefLabel:                pool.GetName(),
			istiogateway.InferencePoolExtensionRefSvc:         picker,
			istiogateway.InferencePoolExtensionRefPort:        fmt.Sprint(pickerPort),
			istiogateway.InferencePoolExtensionRefFailureMode: mode,
			constants.InternalServiceSemantics:                constants.ServiceSemanticsInferencePool,
		}},
		"spec": map[string]any{"clusterIP": "None", "selector": toAny(sel)},
	}
	var sp []any
	for i, p := range ports {
		n, _, _ := unstructured.NestedInt64(p.(map[string]any), "number")
		sp = append(sp, map[string]any{"name": fmt.Sprintf("http-%d", i), "protocol": "TCP", "port": int64(54321 + i), "targetPort": n})
	}
	_ = unstructured.SetNestedSlice(svc, sp, "spec", "ports")
	y, _ := yaml.Marshal(svc)
	return string(y)
}

func toAny(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// unpooled renames, in a gateway's route table, the clusters of the
// bundle's pools' shadow Services (outbound|54321||<pool>-ip-<hash>.<ns>…)
// as the Services of the same name would be on the pool's target port
// (outbound|P||<pool>.<ns>…): mlmesh names a version's pool as its
// Service, so routes compare with the dialect's without pools.
func unpooled(b *Bundle, t RouteTable) RouteTable {
	rename := map[string]string{}
	for _, o := range b.Objects {
		if o.GetKind() != "InferencePool" {
			continue
		}
		ports, _, _ := unstructured.NestedSlice(o.Object, "spec", "targetPorts")
		if len(ports) == 0 {
			continue
		}
		port, _, _ := unstructured.NestedInt64(ports[0].(map[string]any), "number")
		shadow, _ := istiogateway.InferencePoolServiceName(o.GetName())
		suffix := "." + o.GetNamespace() + ".svc.cluster.local"
		rename["outbound|54321||"+shadow+suffix] = fmt.Sprintf("outbound|%d||%s%s", port, o.GetName(), suffix)
	}
	if len(rename) == 0 {
		return t
	}
	out := RouteTable{}
	for rc, hosts := range t {
		out[rc] = map[string][]Route{}
		for domain, routes := range hosts {
			for _, r := range routes {
				clusters := map[string]uint32{}
				for c, w := range r.Clusters {
					if n, ok := rename[c]; ok {
						c = n
					}
					clusters[c] = w
				}
				r.Clusters = clusters
				out[rc][domain] = append(out[rc][domain], r)
			}
		}
	}
	return out
}
