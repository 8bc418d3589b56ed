package serving

import (
	"testing"

	"github.com/mlmesh/mlmesh/internal/labels"
)

// TestPodLabelAgreesWithPodLabels: podLabel answers for one key what
// PodLabels holds, for every sidecar mode and with user labels that the
// builder overrides or keeps.
func TestPodLabelAgreesWithPodLabels(t *testing.T) {
	user := map[string]string{
		"team": "ml", labels.Name: "overridden", labels.Instance: "overridden",
		labels.SidecarInject: "user", labels.Component: "overridden",
	}
	for _, sc := range []Sidecar{SidecarDefault, SidecarInject, SidecarSkip} {
		for _, ul := range []map[string]string{nil, user} {
			m := Model{Name: "bert", Runtime: Triton(), Sidecar: sc, Labels: ul, Versions: []Version{{Name: "v1"}}}
			want := PodLabels(m, "v1")
			for k, v := range want {
				if got, ok := podLabel(&m, "v1", k); !ok || got != v {
					t.Errorf("sidecar %q, labels %v: podLabel(%q) = %q, %v; PodLabels has %q", sc, ul, k, got, ok, v)
				}
			}
			for _, k := range []string{"absent", "team", labels.SidecarInject} {
				if _, inMap := want[k]; !inMap {
					if got, ok := podLabel(&m, "v1", k); ok {
						t.Errorf("sidecar %q, labels %v: podLabel(%q) = %q, but PodLabels has no such key", sc, ul, k, got)
					}
				}
			}
		}
	}
}
