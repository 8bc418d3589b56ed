package conformance

import (
	"testing"
)

// TestCRDSchemaExamples checks every object of every example whose kind is
// a CRD's (Istio's, the Gateway API's, InferencePool) against its schema
// and CEL rules, offline, as the API server would.
func TestCRDSchemaExamples(t *testing.T) {
	crds, err := IstioCRDs()
	if err != nil {
		t.Fatal(err)
	}
	if crds.Rules < 100 {
		t.Fatalf("only %d CEL rules loaded; the CRDs did not load as expected", crds.Rules)
	}
	bundles, err := ExampleBundles()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, b := range bundles {
		for _, o := range b.Objects {
			if !HasCRD(o) {
				continue
			}
			n++
			for _, e := range crds.Check(o) {
				t.Errorf("%s: %s: CRD schema: %v", b.Name, Describe(o), e)
			}
		}
	}
	t.Logf("CRD schema and %d CEL rules: %d objects", crds.Rules, n)
}
