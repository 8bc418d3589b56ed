package observe_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	corev1 "k8s.io/api/core/v1"

	"github.com/mlmesh/mlmesh/internal/scenarios"
	"github.com/mlmesh/mlmesh/mesh"
	"github.com/mlmesh/mlmesh/observe"
	"github.com/mlmesh/mlmesh/render"
	"github.com/mlmesh/mlmesh/render/rendertest"
	"github.com/mlmesh/mlmesh/slo"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// objectives is algorithm-selector with the model's objectives and v2's
// own.
func objectives() mesh.App {
	app := scenarios.AlgorithmSelector(false, "")
	app.Models[0].SLO = &slo.Objective{Availability: 99.9, Latency: &slo.Latency{Quantile: 0.99, Bound: 500 * time.Millisecond}}
	app.Models[0].VersionSLOs = map[string]slo.Objective{"v2": {Availability: 99.5}}
	return app
}

// TestGolden pins the rule file and the PrometheusRule of an App with
// objectives (the conformance suite checks them with promtool and a real
// Prometheus).
func TestGolden(t *testing.T) {
	b, err := observe.RuleFile(objectives(), observe.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rendertest.GoldenBytes(t, b, filepath.Join("testdata", "algorithm-selector.rules.golden.yaml"))
	pr, err := observe.PrometheusRule(objectives(), observe.Options{RuleLabels: map[string]string{"release": "kube-prometheus-stack"}})
	if err != nil {
		t.Fatal(err)
	}
	y, err := render.YAML([]render.Object{pr})
	if err != nil {
		t.Fatal(err)
	}
	rendertest.GoldenBytes(t, y, filepath.Join("testdata", "algorithm-selector.prometheusrule.golden.yaml"))
}

// TestRulesPerObjective: the model's objective holds for the versions
// without one of their own; each alert pair is the SRE workbook's.
func TestRulesPerObjective(t *testing.T) {
	groups, err := observe.Rules(objectives(), observe.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(groups) != 1 || groups[0].Name != "mlmesh-slo-algorithm-selector" {
		t.Fatalf("groups %+v", groups)
	}
	var alerts []string
	for _, r := range groups[0].Rules {
		if r.Alert != "" {
			alerts = append(alerts, r.Alert+" "+r.Labels["objective"]+" "+r.Labels["severity"]+": "+r.Expr.String())
		}
	}
	all := strings.Join(alerts, "\n")
	for _, want := range []string{
		`ModelAvailabilityBudgetBurn model page: (model_version:istio_request_errors:ratio_rate1h{destination_workload_namespace="algorithm-selector",destination_app="algo-selector",destination_version!~"v2"} > 0.0144 and model_version:istio_request_errors:ratio_rate5m{`,
		`> 0.006 and model_version:istio_request_errors:ratio_rate30m{`,
		`ModelAvailabilityBudgetBurn model ticket: (model_version:istio_request_errors:ratio_rate1d{`,
		`> 0.003 and model_version:istio_request_errors:ratio_rate2h{`,
		`ratio_rate3d{destination_workload_namespace="algorithm-selector",destination_app="algo-selector",destination_version!~"v2"} > 0.001 and`,
		`ModelLatencyBudgetBurn model page: (model_version:istio_request_slow:ratio_rate1h{destination_workload_namespace="algorithm-selector",destination_app="algo-selector",le="500",destination_version!~"v2"} > 0.144 and`,
		`ModelAvailabilityBudgetBurn v2 page: (model_version:istio_request_errors:ratio_rate1h{destination_workload_namespace="algorithm-selector",destination_app="algo-selector",destination_version="v2"} > 0.072 and`,
	} {
		if !strings.Contains(all, want) {
			t.Errorf("no alert like\n  %s\nin\n%s", want, all)
		}
	}
	if strings.Count(all, "\n")+1 != 6 { // availability and latency of the model, availability of v2; page and ticket each
		t.Errorf("%d alerts:\n%s", strings.Count(all, "\n")+1, all)
	}
	// No objective, no rules.
	none, err := observe.Rules(scenarios.AlgorithmSelector(false, ""), observe.Options{})
	if err != nil || none != nil {
		t.Errorf("without objectives: %v, %v", none, err)
	}
	if pr, err := observe.PrometheusRule(scenarios.AlgorithmSelector(false, ""), observe.Options{}); pr != nil || err != nil {
		t.Errorf("PrometheusRule without objectives: %v, %v", pr, err)
	}
}

// TestBadObjectives: bad objectives are refused at the field the user
// wrote, by mesh.Build and so by Rules.
func TestBadObjectives(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  func(*mesh.Model)
		want string
	}{
		{"100%", func(m *mesh.Model) { m.SLO = &slo.Objective{Availability: 100} }, `models[0].slo.availability: invalid value "100": a percentage above 0 and below 100 (99.9): 100% leaves no error budget`},
		{"bound zero", func(m *mesh.Model) { m.SLO = &slo.Objective{Latency: &slo.Latency{Quantile: 0.99}} }, `models[0].slo.latency.bound: invalid value "0s": one of the bounds of Istio's request-duration histogram: 500µs, 1ms`},
		{"no such version", func(m *mesh.Model) { m.VersionSLOs = map[string]slo.Objective{"v9": {Availability: 99}} }, `models[0].versionSLOs[v9]: "v9" not found`},
		{"a version's own", func(m *mesh.Model) { m.VersionSLOs = map[string]slo.Objective{"v2": {Availability: 101}} }, `models[0].versionSLOs[v2].availability: invalid value "101"`},
	} {
		app := scenarios.AlgorithmSelector(false, "")
		tc.set(&app.Models[0])
		_, err := observe.Rules(app, observe.Options{})
		var ve *mesh.ValidationError
		if !errors.As(err, &ve) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v\n want %s", tc.name, err, tc.want)
		}
		if _, err := mesh.Build(app); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: mesh.Build: %v", tc.name, err)
		}
	}
}

// TestDashboards pins the dashboards of two scenarios (a canary behind a
// gateway with objectives; vLLM), and holds each to a round trip through
// the SDK's own types: what mlmesh writes is what Grafana's schema reads.
func TestDashboards(t *testing.T) {
	plugins.RegisterDefaultPlugins()
	llm := scenarios.LLM(false, "")
	for _, tc := range []struct {
		name  string
		app   mesh.App
		model string
		rows  []string
	}{
		{"algorithm-selector", objectives(), "algo-selector", []string{"Mesh traffic (as the sidecars report it)", "Gateway traffic (istio-ingressgateway)", "Objectives", "Rollout"}},
		{"llm", llm, llm.Models[0].Name, []string{"Mesh traffic (as the sidecars report it)", "Gateway traffic (istio-ingressgateway)", "vllm", "Rollout"}},
	} {
		d, panels, err := observe.Dashboard(tc.app, tc.model)
		if err != nil {
			t.Fatal(err)
		}
		b, err := observe.DashboardJSON(d)
		if err != nil {
			t.Fatal(err)
		}
		rendertest.GoldenBytes(t, b, filepath.Join("testdata", tc.name+".dashboard.golden.json"))
		var back dashboard.Dashboard
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("%s: the SDK does not read the dashboard back: %v", tc.name, err)
		}
		again, err := observe.DashboardJSON(back)
		if err != nil || !bytes.Equal(again, b) {
			t.Errorf("%s: the dashboard does not round-trip through the SDK's types (%v)", tc.name, err)
		}
		var rows []string
		for _, p := range panels {
			if !slices.Contains(rows, p.Row) {
				rows = append(rows, p.Row)
			}
			if len(p.Queries) == 0 {
				t.Errorf("%s: panel %s has no query", tc.name, p.Title)
			}
		}
		if !slices.Equal(rows, tc.rows) {
			t.Errorf("%s: rows %q, want %q", tc.name, rows, tc.rows)
		}
	}
	if _, _, err := observe.Dashboard(objectives(), "nope"); err == nil {
		t.Error("a dashboard of a model the App does not have")
	}
}

// TestObjects: a ConfigMap per model labelled for Grafana's sidecar, and
// the PrometheusRule.
func TestObjects(t *testing.T) {
	objs, err := observe.Objects(objectives(), observe.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range objs {
		got = append(got, o.GetObjectKind().GroupVersionKind().Kind+" "+o.GetName()+" "+o.GetLabels()[observe.DashboardLabel])
	}
	if want := "ConfigMap algo-selector-dashboard 1, PrometheusRule algorithm-selector-slos "; strings.Join(got, ", ") != want {
		t.Errorf("objects %q, want %q", strings.Join(got, ", "), want)
	}
	if _, err := render.YAML(objs); err != nil {
		t.Error(err)
	}
}

// TestObjectsDashboardsAreDashboards: Objects builds each shape's
// dashboard once and puts each model's name in; the bytes must be those of
// the model's own Dashboard, for models that share a shape and models that
// differ only in their objectives, runtime or gateway.
func TestObjectsDashboardsAreDashboards(t *testing.T) {
	for _, name := range []string{"multi-model", "llm", "algorithm-selector"} {
		for _, api := range []string{"istio", "ambient"} {
			app, err := scenarios.Dialect(name, false, api)
			if err != nil {
				t.Fatal(err)
			}
			if app.Validate() != nil {
				continue
			}
			for i := range app.Models {
				switch i % 3 { // shapes: none, one objective, another
				case 1:
					app.Models[i].SLO = &slo.Objective{Availability: 99.9}
				case 2:
					app.Models[i].SLO = &slo.Objective{Availability: 99, Latency: &slo.Latency{Quantile: 0.9, Bound: time.Second}}
				}
			}
			objs, err := observe.Objects(app, observe.Options{})
			if err != nil {
				t.Fatal(err)
			}
			for i, m := range app.Models {
				d, _, err := observe.Dashboard(app, m.Name)
				if err != nil {
					t.Fatal(err)
				}
				want, _ := json.Marshal(d)
				cm := objs[i].(*corev1.ConfigMap)
				if got := cm.Data[m.Name+".json"]; got != string(want) {
					t.Errorf("%s/%s: %s's dashboard in Objects differs from Dashboard's", name, api, m.Name)
				}
			}
		}
	}
}
