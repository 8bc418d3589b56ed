package conformance

import (
	"fmt"
	"strings"
	"testing"

	"istio.io/istio/pkg/config/analysis/diag"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// expectedMessages are analyzer messages that an example produces on
// purpose, with the reason.
var expectedMessages = map[string]map[string]string{
	// Injection by pod label only: the namespace is deliberately not
	// labelled, which the analyzer reports as information.
	"kubeflow-inception": {"IST0102": "namespace kubeflow is not labelled for injection; its pods opt in one by one"},
	// In ambient mode the namespace is labelled, for ambient.
	"kubeflow-inception.ambient": {},
	// Istio warns of every EnvoyFilter that the API exposes Envoy's
	// internals; Istio 1.31 has no other way to put an ext_proc filter of
	// one's own on a Gateway (the body router's).
	"llm-endpoint": {"IST0133": envoyFilterWarning},
}

// TestAnalyzeExamples runs each example's whole bundle through Istio's
// analyzers: no messages but the expected ones.
func TestAnalyzeExamples(t *testing.T) {
	bundles, err := ExampleBundles()
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bundles {
		t.Run(b.Name, func(t *testing.T) {
			msgs := analyzeBundle(t, b)
			want, ok := expectedMessages[b.Name]
			if !ok {
				want = expectedMessages[dialectBase(b.Name)]
			}
			seen := map[string]bool{}
			for _, m := range msgs {
				code := m.Type.Code()
				if _, ok := want[code]; ok {
					seen[code] = true
					continue
				}
				t.Errorf("analyzer: %s", m.String())
			}
			for code, why := range want {
				if !seen[code] {
					t.Errorf("expected analyzer message %s (%s) did not appear", code, why)
				}
			}
		})
	}
}

// analyzeBundle runs a bundle through Istio's analyzers with what the
// cluster would hold beside it: its pods, the ingress gateway, the TLS
// Secrets and Gateway API gateways' workloads it names.
func analyzeBundle(t *testing.T, b *Bundle) diag.Messages {
	t.Helper()
	pods, err := Pods(b)
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := Analyze(b.Namespace(), b.YAML, pods, []byte(IngressGatewayFixture), credentialFixture(b), gatewayAPIFixture(b))
	if err != nil {
		t.Fatal(err)
	}
	return msgs
}

// credentialFixture is the TLS Secrets that the bundle's Gateways name, in
// istio-system, as the cluster's owner (or cert-manager) would have made
// them: mlmesh builds none, and without them the analyzer reports IST0101.
func credentialFixture(b *Bundle) []byte {
	var out strings.Builder
	seen := map[string]bool{}
	for _, gw := range istioObjects(b, "Gateway") {
		servers, _, _ := unstructured.NestedSlice(gw.Object, "spec", "servers")
		for _, s := range servers {
			name, _, _ := unstructured.NestedString(s.(map[string]any), "tls", "credentialName")
			if name == "" || seen[name] {
				continue
			}
			seen[name] = true
			out.WriteString("---\n" + tlsSecret(name, "istio-system"))
		}
	}
	return []byte(out.String())
}

// gatewayAPIFixture is the pods Istio deploys for the bundle's Gateway API
// Gateways (a Deployment and Service <name>-istio in the Gateway's
// namespace, its pods labelled with the Gateway's name), as they run once
// Istio has programmed them.
func gatewayAPIFixture(b *Bundle) []byte {
	var out strings.Builder
	for _, gw := range b.Objects {
		if gw.GetKind() != "Gateway" || gw.GroupVersionKind().Group != "gateway.networking.k8s.io" {
			continue
		}
		fmt.Fprintf(&out, "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: %[1]s-istio-0\n  namespace: %[2]s\n  labels:\n    gateway.networking.k8s.io/gateway-name: %[1]s\nspec:\n  serviceAccountName: %[1]s-istio\n  containers:\n  - name: istio-proxy\n    image: %[3]s\n",
			gw.GetName(), gw.GetNamespace(), ProxyImage)
	}
	return []byte(out.String())
}
