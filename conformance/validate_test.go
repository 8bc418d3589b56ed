package conformance

import (
	"testing"
)

// TestIstioValidationExamples runs every Istio object of every example
// through Istio's own validation: no errors, no warnings.
func TestIstioValidationExamples(t *testing.T) {
	bundles, err := ExampleBundles()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, b := range bundles {
		for _, o := range b.Objects {
			if !IsIstio(o) {
				continue
			}
			n++
			warnings, err := ValidateIstio(o)
			if err != nil {
				t.Errorf("%s: %s: Istio validation: %v", b.Name, Describe(o), err)
			}
			for _, w := range warnings {
				t.Errorf("%s: %s: Istio validation warning: %s", b.Name, Describe(o), w)
			}
		}
	}
	t.Logf("Istio validation: %d objects of %d bundles", n, len(bundles))
	if n == 0 {
		t.Fatal("no Istio objects checked")
	}
}
