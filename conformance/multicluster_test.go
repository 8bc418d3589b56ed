package conformance

import (
	"fmt"
	"strings"
	"testing"

	"github.com/mlmesh/mlmesh/internal/scenarios"
	"github.com/mlmesh/mlmesh/multicluster"
	"github.com/mlmesh/mlmesh/render"
)

// fleetBundles are each cluster's objects of scenarios.Fleet, as bundles.
func fleetBundles(t *testing.T) map[string]*Bundle {
	t.Helper()
	app, f := scenarios.Fleet()
	objs, err := multicluster.Build(app, f)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*Bundle{}
	for c, list := range objs {
		y, err := render.YAML(list)
		if err != nil {
			t.Fatal(err)
		}
		if out[c], err = ParseBundle("fleet-"+c, y); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// TestFleetClusters checks each cluster's objects of a three-cluster fleet
// (two regions and a canary cluster, two networks) with Istio's own parts,
// cluster by cluster: Istio's validation (no warning) and the CRD schemas
// accept every object (the east-west Gateway in istio-system too); the
// analyzers of the App's namespace, given the pods of every cluster as
// multi-cluster discovery gives them to the mesh, report nothing (given
// one cluster's pods alone they would report each subset another cluster
// runs, IST0173); and in Istio's config generator each
// cluster's sidecars route fraud's requests 90/10 to the subsets v1 and
// v2 whatever the cluster runs, with each subset's cluster carrying the
// outlier detection that locality failover needs. Istio's generator is fed
// one cluster's configuration at a time: the endpoints other clusters
// contribute, and the failover priorities Envoy gets from them, are not
// modelled here.
func TestFleetClusters(t *testing.T) {
	crds, err := IstioCRDs()
	if err != nil {
		t.Fatal(err)
	}
	bundles := fleetBundles(t)
	var pods []byte
	for _, b := range bundles {
		p, err := Pods(b)
		if err != nil {
			t.Fatal(err)
		}
		pods = append(pods, p...)
	}
	// The negative control: eu-1's analyzers with eu-1's pods alone see
	// that no pod of v2, which only the canary cluster runs, is there.
	own, err := Pods(bundles["eu-1"])
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := Analyze("fraud", bundles["eu-1"].YAML, own, []byte(IngressGatewayFixture))
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 || msgs[0].Type.Code() != "IST0173" || !strings.Contains(msgs[0].String(), "Subset v2") {
		t.Errorf("eu-1 with its own pods alone: %v, want IST0173 for v2", msgs)
	}
	for c, b := range bundles {
		t.Run(c, func(t *testing.T) {
			for _, o := range b.Objects {
				if IsIstio(o) {
					warnings, err := ValidateIstio(o)
					if err != nil || len(warnings) > 0 {
						t.Errorf("%s: Istio validation: %v %v", Describe(o), err, warnings)
					}
				}
				if HasCRD(o) {
					for _, e := range crds.Check(o) {
						t.Errorf("%s: CRD schema: %v", Describe(o), e)
					}
				}
			}
			// The analyzers see one cluster; given the pods of every
			// cluster, as multi-cluster discovery gives them to the mesh,
			// each subset selects the pods some cluster runs.
			msgs, err := Analyze(b.Namespace(), b.YAML, pods, []byte(IngressGatewayFixture), nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range msgs {
				t.Errorf("analyzer: %s", m.String())
			}
			m, err := NewMesh(t, b, "fraud", false)
			if err != nil {
				t.Fatal(err)
			}
			routes := table(m.Server.Routes(m.Sidecar))
			got := fmt.Sprint(routes["8501"]["fraud.fraud.svc.cluster.local"])
			if want := "map[" + Cluster(8501, "v1", "fraud.fraud.svc.cluster.local") + ":90 " + Cluster(8501, "v2", "fraud.fraud.svc.cluster.local") + ":10]"; !strings.Contains(got, want) {
				t.Errorf("sidecar routes of fraud: %s, want %s", got, want)
			}
			outliers := 0
			for _, cl := range m.Server.Clusters(m.Sidecar) {
				for _, v := range []string{"v1", "v2"} {
					if cl.Name == Cluster(8501, v, "fraud.fraud.svc.cluster.local") && cl.OutlierDetection.GetConsecutive_5Xx().GetValue() == 5 {
						outliers++
					}
				}
			}
			if outliers != 2 {
				t.Errorf("%d of the subsets' Envoy clusters carry the outlier detection, want 2", outliers)
			}
		})
	}
}
