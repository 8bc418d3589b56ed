package mesh

import (
	"strings"
	"testing"

	"github.com/mlmesh/mlmesh/internal/order"
	"github.com/mlmesh/mlmesh/routing"
	"github.com/mlmesh/mlmesh/serving"
)

// TestSubsetsSelectOneVersion: the cross-check finds a subset that selects
// no Deployment's pods or the pods of two.
func TestSubsetsSelectOneVersion(t *testing.T) {
	m := serving.Model{Name: "bert", Runtime: serving.Triton(), Sidecar: serving.SidecarInject,
		Versions: []serving.Version{{Name: "v1", ModelURI: "s3://b/1"}, {Name: "v2", ModelURI: "s3://b/2"}}}
	spec := routing.Spec{Subsets: []routing.Subset{
		{Name: "v1"},
		{Name: "v2", Labels: map[string]string{"version": "v2", "sidecar.istio.io/inject": "true"}},
		{Name: "none", Labels: map[string]string{"version": "v9"}},
		{Name: "both", Labels: map[string]string{"app": "bert"}},
	}}
	c, err := serving.Check(&m)
	if err != nil {
		t.Fatal(err)
	}
	errs := subsetsSelectOneVersion(3, spec.Subsets, m, c)
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

// TestKindsAreKnown: every kind a family builds has a place in render's
// apply order, and the namespaced ones are listed by apply.Managed, so a
// transition can prune them.
func TestKindsAreKnown(t *testing.T) {
	built := map[string]bool{}
	for _, gvk := range order.Built {
		built[gvk.Kind] = true
	}
	for _, k := range kinds {
		if k.rank == order.Unknown {
			t.Errorf("%s has no rank in render's apply order", k.name)
		}
		if k.name != "Namespace" && !built[k.name] {
			t.Errorf("%s is not in order.Built: apply.Managed would not find it to prune", k.name)
		}
	}
}
