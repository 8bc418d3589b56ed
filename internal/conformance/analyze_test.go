package conformance

import (
	"testing"
)

// expectedMessages are analyzer messages that an example produces on
// purpose, with the reason.
var expectedMessages = map[string]map[string]string{
	// Injection by pod label only: the namespace is deliberately not
	// labelled, which the analyzer reports as information.
	"kubeflow-inception": {"IST0102": "namespace kubeflow is not labelled for injection; its pods opt in one by one"},
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
			pods, err := Pods(b)
			if err != nil {
				t.Fatal(err)
			}
			msgs, err := Analyze(b.Namespace(), b.YAML, pods, []byte(IngressGatewayFixture))
			if err != nil {
				t.Fatal(err)
			}
			want := expectedMessages[b.Name]
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
