package conformance

import (
	"strings"
	"testing"
)

// envoyFilterWarning starts the warning Istio's validation gives every
// EnvoyFilter, whatever it holds (IST0133 in the analyzers); the other
// warnings of an EnvoyFilter are not excused.
const envoyFilterWarning = "EnvoyFilter exposes internal implementation details"

// TestIstioValidationExamples runs every Istio object of every example
// through Istio's own validation: no errors, no warnings but the one Istio
// gives every EnvoyFilter.
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
				if o.GetKind() == "EnvoyFilter" && strings.HasPrefix(w, envoyFilterWarning) {
					continue
				}
				t.Errorf("%s: %s: Istio validation warning: %s", b.Name, Describe(o), w)
			}
		}
	}
	t.Logf("Istio validation: %d objects of %d bundles", n, len(bundles))
	if n == 0 {
		t.Fatal("no Istio objects checked")
	}
}
