package conformance

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/mlmesh/mlmesh/apply"
	"github.com/mlmesh/mlmesh/internal/scenarios"
	"github.com/mlmesh/mlmesh/mesh"
	"github.com/mlmesh/mlmesh/observe"
	"github.com/mlmesh/mlmesh/rollout"
	"github.com/mlmesh/mlmesh/serving"
	"github.com/mlmesh/mlmesh/slo"
)

// sloApp is algorithm-selector with objectives: the model's, and v2's own.
func sloApp(ns string, d dialect) mesh.App {
	app := dialectApp(ns, d)
	app.Models[0].SLO = &slo.Objective{Availability: 99, Latency: &slo.Latency{Quantile: 0.99, Bound: 500 * time.Millisecond}}
	app.Models[0].VersionSLOs = map[string]slo.Objective{"v2": {Availability: 99.5}}
	return app
}

// TestRuleFilesPassPromtool: the rule file of every scenario, with
// objectives on each model, in each dialect, passes promtool check rules
// (syntax, PromQL, duplicate rules).
func TestRuleFilesPassPromtool(t *testing.T) {
	promtool := filepath.Join(ToolsDir(), "promtool")
	if _, err := os.Stat(promtool); err != nil {
		t.Fatalf("no promtool (internal/tools/install.sh links Debian's): %v", err)
	}
	dir := t.TempDir()
	var files []string
	for name := range scenarios.ByName {
		for _, api := range []string{"istio", "gateway", "ambient"} {
			app, err := scenarios.Dialect(name, false, api)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := mesh.Build(app); err != nil {
				continue // a scenario refused in this dialect (scenarios' own tests say which)
			}
			for i := range app.Models {
				app.Models[i].SLO = &slo.Objective{Availability: 99.9, Latency: &slo.Latency{Quantile: 0.95, Bound: time.Second}}
			}
			b, err := observe.RuleFile(app, observe.Options{})
			if err != nil {
				t.Fatalf("%s/%s: %v", name, api, err)
			}
			f := filepath.Join(dir, name+"-"+api+".yaml")
			if err := os.WriteFile(f, b, 0o644); err != nil {
				t.Fatal(err)
			}
			files = append(files, f)
		}
	}
	out, err := exec.Command(promtool, append([]string{"check", "rules"}, files...)...).CombinedOutput()
	if err != nil || strings.Count(string(out), "SUCCESS") != len(files) {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
	t.Logf("%d rule files pass promtool", len(files))
}

// TestBurnRateAlerts loads the rules in a real Prometheus, windows scaled
// down 600× (an hour is six seconds), scraping an exporter of Istio's
// metrics every 200 ms: the recording rules give each version the figures
// the exporter was told; a failing, slow v1 fires the availability and
// latency alerts, page and ticket, which resolve once it recovers; a
// healthy v2 fires none, at any time (the negative control).
func TestBurnRateAlerts(t *testing.T) {
	t.Parallel()
	for _, d := range []dialect{dialects[0], dialects[2]} {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			ns := "observe-" + d.name
			rules, err := observe.RuleFile(sloApp(ns, d), observe.Options{Scale: 1.0 / 600})
			if err != nil {
				t.Fatal(err)
			}
			exp, err := StartIstioExporter()
			if err != nil {
				t.Fatal(err)
			}
			defer exp.Close()
			exp.SetReporter(ns, d.reporter)
			// Under ambient v1 is a gRPC service whose failures are HTTP
			// 200s with gRPC status 14: they count against its budget too.
			bad := Traffic{RPS: 50, ErrorRatio: 0.5, Latency: 700 * time.Millisecond, GRPC: d.ambient}
			exp.Set(ns, "algo-selector", "v1", bad)
			exp.Set(ns, "algo-selector", "v2", Traffic{RPS: 50, Latency: 20 * time.Millisecond})
			prom, err := StartPrometheusWith(exp.Addr, PrometheusOptions{Interval: 200 * time.Millisecond, Rules: rules})
			if err != nil {
				t.Fatal(err)
			}
			defer prom.Close()
			q := func(query string) map[string]float64 { return promQuery(t, prom.URL, query) }
			firing := func() map[string]float64 {
				return q(`ALERTS{alertstate="firing",destination_app="algo-selector"}`)
			}
			want := []string{"ModelAvailabilityBudgetBurn/page/v1", "ModelAvailabilityBudgetBurn/ticket/v1", "ModelLatencyBudgetBurn/page/v1", "ModelLatencyBudgetBurn/ticket/v1"}
			waitUntil(t, 60*time.Second, "every alert of v1 firing", func() bool {
				f := firing()
				for k := range f {
					if strings.HasSuffix(k, "/v2") {
						t.Fatalf("an alert fired for the healthy v2: %s", k)
					}
				}
				for _, w := range want {
					if _, ok := f[w]; !ok {
						return false
					}
				}
				return true
			})
			// The recording rules: one series per version, the exporter's
			// figures (the rate within 10%, ratios within 0.05), once the
			// window (30m: 3 s here) holds only the exporter's steady
			// traffic.
			for _, c := range []struct {
				rule   string
				v1, v2 float64
				tol    float64
			}{
				{observe.RequestsRate + "30m", 50, 50, 5},
				{observe.ErrorRatio + "30m", 0.5, 0, 0.05},
				{observe.SlowRatio + "30m", 1, 0, 0.05},
			} {
				var got map[string]float64
				waitUntil(t, 20*time.Second, c.rule+" at the exporter's figures", func() bool {
					got = q(c.rule + `{destination_app="algo-selector"}`)
					return len(got) == 2 && math.Abs(got["v1"]-c.v1) <= c.tol && math.Abs(got["v2"]-c.v2) <= c.tol
				})
				t.Logf("%s: %v", c.rule, got)
			}
			// v1 recovers: every alert resolves.
			exp.Set(ns, "algo-selector", "v1", Traffic{RPS: 50, Latency: 20 * time.Millisecond})
			waitUntil(t, 90*time.Second, "every alert resolved", func() bool { return len(firing()) == 0 })
		})
	}
}

// promQuery runs an instant query; the result is keyed by the series'
// destination_version (or version), or for ALERTS by
// alertname/severity/version.
func promQuery(t *testing.T, base, query string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(base + "/api/v1/query?query=" + url.QueryEscape(query))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r struct {
		Status string
		Error  string
		Data   struct {
			Result []struct {
				Metric map[string]string
				Value  [2]any
			}
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || r.Status != "success" {
		t.Fatalf("query %s: %v %s", query, err, r.Error)
	}
	out := map[string]float64{}
	for _, s := range r.Data.Result {
		k := s.Metric["destination_version"]
		if k == "" {
			k = s.Metric["version"]
		}
		if a := s.Metric["alertname"]; a != "" {
			k = a + "/" + s.Metric["severity"] + "/" + k
		}
		var v float64
		fmt.Sscan(fmt.Sprint(s.Value[1]), &v)
		out[k] = v
	}
	return out
}

// waitUntil polls cond every 500 ms, failing the test after limit.
func waitUntil(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("not after %s: %s", limit, what)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// prometheusRuleCRD is the Prometheus Operator's PrometheusRule CRD from
// the release whose API module mlmesh builds with (the module proxy serves
// the operator's repository at the same version).
func prometheusRuleCRD(t *testing.T) []byte {
	t.Helper()
	const api = "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring"
	version, err := moduleVersion(api)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "mod", "download", "-json", "github.com/prometheus-operator/prometheus-operator@"+version)
	cmd.Dir = os.TempDir() // outside any module: the download changes no go.mod
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go mod download the operator %s: %v", version, err)
	}
	var mod struct{ Dir string }
	if err := json.Unmarshal(out, &mod); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(mod.Dir, "example", "prometheus-operator-crd", "monitoring.coreos.com_prometheusrules.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestPrometheusRuleApplies: what observe.Objects adds to an App's stream
// (the dashboards' ConfigMaps, the PrometheusRule) applies on the
// kube-apiserver with the operator's CRD (its schema, strict field
// validation) beside the App, twice, the second time changing nothing;
// the server holds every rule and every dashboard byte.
func TestPrometheusRuleApplies(t *testing.T) {
	s := apiServer(t)
	ctx := context.Background()
	if err := s.InstallCRDs(ctx, prometheusRuleCRD(t)); err != nil {
		t.Fatal(err)
	}
	for _, d := range dialects {
		ns := "slos-" + d.name
		app := sloApp(ns, d)
		objs, err := mesh.Build(app)
		if err != nil {
			t.Fatal(err)
		}
		opts := observe.Options{RuleLabels: map[string]string{"release": "kube-prometheus-stack"}}
		pr, err := observe.PrometheusRule(app, opts)
		if err != nil {
			t.Fatal(err)
		}
		extra, err := observe.Objects(app, opts)
		if err != nil {
			t.Fatal(err)
		}
		c := dynamicClient(s)
		for round := 1; round <= 2; round++ {
			res, err := apply.Apply(ctx, c, append(objs, extra...), apply.Options{})
			if err != nil {
				t.Fatalf("%s, round %d: %v", d.name, round, err)
			}
			if changed := res.With(apply.Created, apply.Configured, apply.Applied); round == 2 && len(changed) != 0 {
				t.Errorf("%s: the second apply changed %v", d.name, changed)
			}
		}
		live, err := c.Get(ctx, pr.GroupVersionKind(), ns, pr.Name)
		if err != nil {
			t.Fatal(err)
		}
		groups, _, _ := unstructured.NestedSlice(live.Object, "spec", "groups")
		rules, _, _ := unstructured.NestedSlice(groups[0].(map[string]any), "rules")
		if len(groups) != 1 || len(rules) != len(pr.Spec.Groups[0].Rules) {
			t.Errorf("%s: the server holds %d groups, %d rules; want 1, %d", d.name, len(groups), len(rules), len(pr.Spec.Groups[0].Rules))
		}
		cm, err := c.Get(ctx, schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, ns, "algo-selector-dashboard")
		if err != nil {
			t.Fatal(err)
		}
		held, _, _ := unstructured.NestedString(cm.Object, "data", "algo-selector.json")
		if want := extra[0].(*corev1.ConfigMap).Data["algo-selector.json"]; held != want || cm.GetLabels()[observe.DashboardLabel] != "1" {
			t.Errorf("%s: the dashboard's ConfigMap holds %d bytes, labels %v; want %d bytes", d.name, len(held), cm.GetLabels(), len(want))
		}
	}
}

// TestRolloutMetrics: a real Prometheus scrapes a program's
// RolloutCollector during a real rollout (the suite's API server and
// exporter, the sidecar dialect): the candidate's weight it recorded went
// 0, 10, 50, 100 in that order, the stable version's the other way, and the
// rollout ends succeeded with its analyses counted.
func TestRolloutMetrics(t *testing.T) {
	e := startRolloutEnv(t)
	col := observe.NewRolloutCollector()
	reg := prometheus.NewRegistry()
	reg.MustRegister(col)
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()
	prom, err := StartPrometheusWith(e.exp.Addr, PrometheusOptions{Interval: 250 * time.Millisecond, More: []string{strings.TrimPrefix(srv.URL, "http://")}})
	if err != nil {
		t.Fatal(err)
	}
	defer prom.Close()
	// Prometheus scrapes its targets a while after it is ready: the
	// rollout starts once it has scraped the collector.
	waitUntil(t, 30*time.Second, "Prometheus scraping the collector", func() bool {
		return len(promQuery(t, prom.URL, `up{instance="`+strings.TrimPrefix(srv.URL, "http://")+`"} == 1`)) == 1
	})
	d := dialects[0]
	ns := "rollout-metrics"
	// A bake keeps v1 at 0% for a few scrapes before it is retired (and
	// its series ends).
	p := rolloutPlan(t, ns, d, rollout.Strategy{RetireAfter: 2 * time.Second})
	f := e.follow(ns, "algo-selector", d, healthy, healthy)
	defer f.Stop()
	var events []string
	dr := e.driver(t, p, d, &events)
	dr.Progress = col.Watch(p, dr.Progress)
	start := time.Now()
	if rep, err := dr.Run(context.Background(), p); err != nil || rep.Outcome != rollout.Succeeded {
		t.Fatalf("%s, %v", rep.Outcome, err)
	}
	time.Sleep(time.Second) // a last scrape
	weights := func(version string) []float64 {
		return promSeries(t, prom.URL, `mlmesh_rollout_weight{namespace="`+ns+`",version="`+version+`"}`, start)
	}
	// The baseline lasts a move, and may fall between two scrapes.
	if got := fmt.Sprint(distinct(weights("v2"))); got != "[0 10 50 100]" && got != "[10 50 100]" {
		t.Errorf("v2's weight over the rollout: %v, want [0 10 50 100]", got)
	}
	if got := fmt.Sprint(distinct(weights("v1"))); got != "[100 90 50 0]" && got != "[90 50 0]" {
		t.Errorf("v1's weight over the rollout: %v, want [100 90 50 0]", got)
	}
	status := promQuery(t, prom.URL, `mlmesh_rollout_status{namespace="`+ns+`",status="succeeded"}`)
	passes := promQuery(t, prom.URL, `mlmesh_rollout_analyses_total{namespace="`+ns+`",conclusion="pass"}`)
	if len(status) != 1 || len(passes) != 1 || passes[""] < 2 {
		t.Errorf("status %v, passes %v", status, passes)
	}
}

// promSeries is the values of query's one series from start to now, at
// Prometheus's own resolution.
func promSeries(t *testing.T, base, query string, start time.Time) []float64 {
	t.Helper()
	u := fmt.Sprintf("%s/api/v1/query_range?query=%s&start=%d&end=%d&step=0.25", base, url.QueryEscape(query), start.Unix(), time.Now().Unix()+1)
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r struct {
		Status string
		Data   struct{ Result []struct{ Values [][2]any } }
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || r.Status != "success" || len(r.Data.Result) != 1 {
		t.Fatalf("query_range %s: %v, %d series", query, err, len(r.Data.Result))
	}
	var out []float64
	for _, v := range r.Data.Result[0].Values {
		var f float64
		fmt.Sscan(fmt.Sprint(v[1]), &f)
		out = append(out, f)
	}
	return out
}

// distinct drops repeats of the value before.
func distinct(vs []float64) []float64 {
	var out []float64
	for _, v := range vs {
		if len(out) == 0 || out[len(out)-1] != v {
			out = append(out, v)
		}
	}
	return out
}

// TestDashboardQueries runs every query of every panel of two dashboards
// (algorithm-selector with objectives, behind a gateway, in the sidecar and
// ambient dialects; the vLLM scenario) through a real Prometheus that
// scrapes the Istio exporter (mesh and gateway reports, vLLM's metrics),
// a RolloutCollector and the objectives' rules, with the dashboard's
// variables set as Grafana would ($version: all): each returns one series
// per version, and the traffic panels the figures the exporter was told
// (within 10%, or the histogram bucket the latency falls in). A query that
// returns nothing fails.
func TestDashboardQueries(t *testing.T) {
	t.Parallel()
	llm := scenarios.LLM(false, "")
	for _, tc := range []struct {
		name string
		app  mesh.App
		d    dialect
	}{
		{"istio", sloApp("dash-istio", dialects[0]), dialects[0]},
		{"ambient", sloApp("dash-ambient", dialects[2]), dialects[2]},
		{"vllm", llm, dialects[0]},
		{"tfserving", scenarios.TFServingCanary(false, ""), dialects[0]},
		{"triton", triton(), dialects[0]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			app, ns, model := tc.app, tc.app.Namespace.Name, tc.app.Models[0].Name
			d, panels, err := observe.Dashboard(app, model)
			if err != nil || d.Uid == nil {
				t.Fatal(err)
			}
			exp, err := StartIstioExporter()
			if err != nil {
				t.Fatal(err)
			}
			defer exp.Close()
			exp.SetReporter(ns, tc.d.reporter)
			gateway := "istio-ingressgateway"
			if app.API == mesh.GatewayAPI {
				gateway = app.Models[0].Expose.Gateway + "-istio"
			}
			// v1 fails half its calls: 503s, or (vllm) gRPC status 14 in
			// HTTP 200s, which the success rate must count as failures.
			traffic := map[string]Traffic{"v1": {RPS: 40, ErrorRatio: 0.5, Latency: 700 * time.Millisecond, GRPC: tc.name == "vllm"}, "v2": {RPS: 20, Latency: 20 * time.Millisecond}}
			for v, tr := range traffic {
				exp.Set(ns, model, v, tr)
				exp.SetSource(ns, model, v, gateway, tr)
				exp.SetLLM(ns, model, v, LLMFigures{Running: 3, Waiting: 1, KVCache: 0.4, TokensPerSec: 200, RPS: 10, TTFT: 80 * time.Millisecond, ITL: 20 * time.Millisecond})
				exp.SetServer(ns, model, v, 10, 4*time.Millisecond, 30*time.Millisecond)
			}
			col := observe.NewRolloutCollector()
			reg := prometheus.NewRegistry()
			reg.MustRegister(col)
			p, err := rollout.NewPlan(app, model, "v2", rollout.Strategy{Steps: []int32{10, 50}})
			if err != nil {
				t.Fatal(err)
			}
			col.Watch(p, nil)(rollout.Event{Kind: rollout.Applied, Step: p.Steps[1]})
			srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
			defer srv.Close()
			rules, err := observe.RuleFile(app, observe.Options{Scale: 1.0 / 600})
			if err != nil {
				t.Fatal(err)
			}
			prom, err := StartPrometheusWith(exp.Addr, PrometheusOptions{Interval: 250 * time.Millisecond, Rules: rules, More: []string{strings.TrimPrefix(srv.URL, "http://")}})
			if err != nil {
				t.Fatal(err)
			}
			defer prom.Close()
			vars := strings.NewReplacer("$namespace", ns, "$version", ".*", "$__rate_interval", "3s")
			time.Sleep(8 * time.Second) // the rate window, twice, and the rules' hour (6 s here)
			for _, panel := range panels {
				seen := map[string]bool{}
				for i, q := range panel.Queries {
					q = vars.Replace(q)
					var got map[string]float64
					// An objective's queries hold for its versions only
					// (v2 has its own): each answers, and together they
					// cover both versions.
					want := 2
					if panel.Row == "Objectives" || strings.HasPrefix(panel.Title, "Rollout step") {
						want = 1
					}
					waitUntil(t, 20*time.Second, fmt.Sprintf("%s / %s, query %d: a series per version", panel.Row, panel.Title, i), func() bool {
						got = promQuery(t, prom.URL, q)
						return len(got) >= want
					})
					for v := range got {
						seen[v] = true
					}
					check := func(v string, lo, hi float64) {
						if got[v] < lo || got[v] > hi {
							t.Errorf("%s / %s: %s %g, want %g to %g\n  %s", panel.Row, panel.Title, v, got[v], lo, hi, q)
						}
					}
					switch {
					case panel.Title == "Request rate":
						check("v1", 36, 44)
						check("v2", 18, 22)
					case panel.Title == "Success rate":
						check("v1", 0.45, 0.55)
						check("v2", 0.99, 1)
					case panel.Title == "Latency" && i == 2: // p99: in the bucket the latency falls in
						check("v1", 500, 1000)
						check("v2", 10, 25)
					case panel.Title == "Requests running and waiting" && i == 0:
						check("v1", 3, 3)
					case panel.Title == "KV-cache use":
						check("v2", 0.4, 0.4)
					case panel.Title == "Tokens generated":
						check("v1", 180, 220)
					case panel.Title == "Queue time":
						check("v1", 3.9, 4.1)
					case panel.Title == "Compute time":
						check("v2", 29.5, 30.5)
					case panel.Title == "Runtime latency": // 30 ms: in the bucket (10 ms, 50 ms]
						check("v1", 10, 50)
					case panel.Title == "Rollout weight":
						check("v1", 90, 90)
						check("v2", 10, 10)
					}
				}
				if !seen["v1"] && !strings.HasPrefix(panel.Title, "Rollout step") || panel.Title != "Rollout step" && !seen["v2"] {
					t.Errorf("%s / %s: series of %v, want v1 and v2", panel.Row, panel.Title, seen)
				}
			}
			t.Logf("%d panels, every query answered", len(panels))
		})
	}
}

// triton is the TF Serving canary served by Triton instead.
func triton() mesh.App {
	app := scenarios.TFServingCanary(false, "")
	app.Models[0].Runtime = serving.Triton()
	app.Models[0].Traffic.Port = 8000
	return app
}
