package mesh

import (
	"strings"
	"testing"

	"github.com/mlmesh/mlmesh/routing"
	"github.com/mlmesh/mlmesh/serving"
)

// TestSubsetsSelectOneVersion: the cross-check finds a subset that selects
// no Deployment's pods or the pods of two.
func TestSubsetsSelectOneVersion(t *testing.T) {
	m := serving.Model{Name: "bert", Runtime: serving.Triton(), Sidecar: serving.SidecarInject,
		Versions: []serving.Version{{Name: "v1"}, {Name: "v2"}}}
	spec := routing.Spec{Subsets: []routing.Subset{
		{Name: "v1"},
		{Name: "v2", Labels: map[string]string{"version": "v2", "sidecar.istio.io/inject": "true"}},
		{Name: "none", Labels: map[string]string{"version": "v9"}},
		{Name: "both", Labels: map[string]string{"app": "bert"}},
	}}
	errs := subsetsSelectOneVersion(3, spec, m)
	var got []string
	for _, e := range errs {
		got = append(got, e.Error())
	}
	want := []string{
		`models[3].versions[2]: Invalid value: "none": subset "none" selects the pods of 0 Deployments (), want exactly 1`,
		`models[3].versions[3]: Invalid value: "both": subset "both" selects the pods of 2 Deployments (bert-v1, bert-v2), want exactly 1`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
