package observe

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/mlmesh/mlmesh/internal/labels"
	"github.com/mlmesh/mlmesh/mesh"
	"github.com/mlmesh/mlmesh/render"
	"github.com/mlmesh/mlmesh/rollout/promgate"
)

// Panel is one panel of a model's dashboard as mlmesh built it: its title
// and its queries, with the dashboard's variables ($namespace, $version,
// $__rate_interval) in them. Dashboard returns them beside the dashboard
// so that a test can run every query against a Prometheus.
type Panel struct {
	Row, Title string
	// Queries are the panel's PromQL, one series per version each.
	Queries []string
	// Unit is the panel's unit, in Grafana's words ("reqps", "ms").
	Unit string
}

// Dashboard returns the Grafana dashboard of the model named model of app,
// built with Grafana's Foundation SDK, and its panels: the versions side by
// side — request rate, success rate and latency p50, p90 and p99 — as the
// mesh reports them (the destination's sidecar, or the waypoint under
// ambient) and, for an exposed model, as its gateway does; the error
// budget left and the burn rate of each of its objectives; for vLLM and
// SGLang, their own figures per version (time to first token, inter-token
// latency, requests running and waiting, KV-cache use, tokens a second);
// and a rollout's weights and step (RolloutCollector's metrics). Variables:
// the Prometheus data source, the namespace (the App's by default) and the
// versions.
func Dashboard(app mesh.App, model string) (dashboard.Dashboard, []Panel, error) {
	if err := app.Validate(); err != nil {
		return dashboard.Dashboard{}, nil, err
	}
	i := slices.IndexFunc(app.Models, func(m mesh.Model) bool { return m.Name == model })
	if i < 0 {
		return dashboard.Dashboard{}, nil, fmt.Errorf("observe: the App has no model %q", model)
	}
	return dashboardOf(app, i)
}

// dashboardOf is the dashboard of a valid App's model i.
func dashboardOf(app mesh.App, i int) (dashboard.Dashboard, []Panel, error) {
	return buildDashboard(app, app.Models[i], uid(app.Namespace.Name, app.Models[i].Name))
}

// buildDashboard builds m's dashboard under the uid given.
func buildDashboard(app mesh.App, m mesh.Model, id string) (dashboard.Dashboard, []Panel, error) {
	model := m.Name
	b := &board{app: app, m: m, reporter: reporterOf(app)}
	b.d = dashboard.NewDashboardBuilder(model+" ("+app.Namespace.Name+")").
		Uid(id).
		Tags([]string{"mlmesh", "model"}).
		Refresh("30s").
		Time("now-3h", "now").
		Timezone(common.TimeZoneBrowser).
		Tooltip(dashboard.DashboardCursorSyncCrosshair).
		WithVariable(dashboard.NewDatasourceVariableBuilder("datasource").Label("Data source").Type("prometheus")).
		WithVariable(dashboard.NewTextBoxVariableBuilder("namespace").Label("Namespace").DefaultValue(str(app.Namespace.Name))).
		WithVariable(dashboard.NewQueryVariableBuilder("version").Label("Version").
			Datasource(ds).
			Query(str(fmt.Sprintf(`label_values(istio_requests_total{destination_workload_namespace="$namespace",destination_app=%q}, destination_version)`, model))).
			Refresh(dashboard.VariableRefreshOnTimeRangeChanged).
			Multi(true).IncludeAll(true).AllValue(".*"))
	b.mesh()
	b.gateway()
	b.objectives()
	b.llm()
	b.server()
	b.rollout()
	d, err := b.d.Build()
	if err != nil {
		return dashboard.Dashboard{}, nil, fmt.Errorf("observe: the dashboard of %s: %w", model, err)
	}
	return d, b.panels, nil
}

// DashboardJSON is the dashboard as Grafana imports it.
func DashboardJSON(d dashboard.Dashboard) ([]byte, error) {
	return json.MarshalIndent(d, "", "  ")
}

// ds is the dashboard's data source variable.
var ds = common.DataSourceRef{Type: cog.ToPtr("prometheus"), Uid: cog.ToPtr("${datasource}")}

func str(s string) dashboard.StringOrMap { return dashboard.StringOrMap{String: cog.ToPtr(s)} }

// uid is a dashboard's stable uid: Grafana's uids are at most 40
// characters.
func uid(namespace, model string) string {
	u := "mlmesh-" + namespace + "-" + model
	if len(u) > 40 {
		u = u[:40]
	}
	return u
}

func reporterOf(app mesh.App) string {
	if app.Namespace.Injection == mesh.InjectAmbient {
		return "waypoint"
	}
	return "destination"
}

// board is a dashboard being built, with the panels it holds.
type board struct {
	app      mesh.App
	m        mesh.Model
	reporter string
	d        *dashboard.DashboardBuilder
	panels   []Panel
	row      string
}

func (b *board) newRow(title string) {
	b.row = title
	b.d.WithRow(dashboard.NewRowBuilder(title))
}

// panel adds a time series panel of queries, one legend each.
func (b *board) panel(title, unit, description string, queries, legends []string) {
	p := timeseries.NewPanelBuilder().Title(title).Description(description).Unit(unit).Datasource(ds).Span(8).Height(8).
		Legend(common.NewVizLegendOptionsBuilder().ShowLegend(true).DisplayMode(common.LegendDisplayModeList).Placement(common.LegendPlacementBottom)).
		Tooltip(common.NewVizTooltipOptionsBuilder().Mode(common.TooltipDisplayModeMulti).Sort(common.SortOrderDescending))
	for i, q := range queries {
		p.WithTarget(prometheus.NewDataqueryBuilder().Expr(q).LegendFormat(legends[i]).RefId(string(rune('A' + i))))
	}
	b.d.WithPanel(p)
	b.panels = append(b.panels, Panel{Row: b.row, Title: title, Queries: queries, Unit: unit})
}

// istio is the selector of the model's requests as reporter reports them.
func (b *board) istio(reporter, extra string) string {
	s := fmt.Sprintf(`reporter=%q,destination_workload_namespace="$namespace",destination_app=%q,destination_version=~"$version"`, reporter, b.m.Name)
	if extra != "" {
		s += "," + extra
	}
	return s
}

// traffic adds the request rate, success rate and latency panels of the
// requests sel selects.
func (b *board) traffic(sel func(extra string) string) {
	rate := func(extra string) string {
		return fmt.Sprintf(`sum by (destination_version) (rate(istio_requests_total{%s}[$__rate_interval]))`, sel(extra))
	}
	b.panel("Request rate", "reqps", "Requests a second, by version.", []string{rate("")}, []string{"{{destination_version}}"})
	b.panel("Success rate", "percentunit", "The share of requests answered without a 5xx (gRPC: with OK), by version.",
		[]string{fmt.Sprintf(`(%s or 0 * %s) / %s`, rate(goodRequests), rate(""), rate(""))}, []string{"{{destination_version}}"})
	var qs, ls []string
	for _, q := range [][2]string{{"0.5", "p50"}, {"0.9", "p90"}, {"0.99", "p99"}} {
		qs = append(qs, fmt.Sprintf(`histogram_quantile(%s, sum by (destination_version, le) (rate(istio_request_duration_milliseconds_bucket{%s}[$__rate_interval])))`, q[0], sel("")))
		ls = append(ls, "{{destination_version}} "+q[1])
	}
	b.panel("Latency", "ms", "Request duration at the 50th, 90th and 99th percentiles, by version.", qs, ls)
}

func (b *board) mesh() {
	who := "sidecars"
	if b.reporter == "waypoint" {
		who = "waypoint"
	}
	b.newRow("Mesh traffic (as the " + who + " report it)")
	b.traffic(func(extra string) string { return b.istio(b.reporter, extra) })
}

// gateway adds the exposed model's requests as its gateway reports them.
func (b *board) gateway() {
	if b.m.Expose == nil {
		return
	}
	workload := "istio-ingressgateway" // Istio's Gateways select the mesh's ingress gateway
	if b.app.API == mesh.GatewayAPI {
		workload = b.m.Expose.Gateway + "-istio" // the Gateway API's deployment of the Gateway
	}
	b.newRow("Gateway traffic (" + workload + ")")
	b.traffic(func(extra string) string {
		gw := fmt.Sprintf(`source_workload=%q`, workload)
		if extra != "" {
			gw += "," + extra
		}
		return b.istio("source", gw)
	})
}

// objectives adds, for each objective of the model, the error budget left
// over its period and the rate it burns at over the last hour and six
// hours (the recording rules of Rules), by version.
func (b *board) objectives() {
	m, ok := objectivesOf(b.app, b.m)
	if !ok {
		return
	}
	b.newRow("Objectives")
	var left, burn, leftL, burnL []string
	for _, v := range slices.Sorted(maps.Keys(m.objectives)) {
		o := m.objectives[v]
		sel := b.istio(b.reporter, m.versionMatcher(v))
		own := `destination_workload_namespace="$namespace",destination_app="` + b.m.Name + `",destination_version=~"$version"`
		if vm := m.versionMatcher(v); vm != "" {
			own += "," + vm
		}
		period := promDuration(o.PeriodOrDefault(), 1)
		whose := "{{destination_version}}"
		if v != "" {
			whose += " (its own objective)"
		}
		if o.Availability > 0 {
			budget := decimal(o.ErrorBudget())
			good := fmt.Sprintf(`sum by (destination_version) (rate(istio_requests_total{%s,%s}[%s]))`, sel, goodRequests, period)
			all := fmt.Sprintf(`sum by (destination_version) (rate(istio_requests_total{%s}[%s]))`, sel, period)
			left = append(left, fmt.Sprintf(`1 - (1 - (%s or 0 * %s) / %s) / %s`, good, all, all, budget))
			leftL = append(leftL, whose+" availability")
			for _, w := range []string{"1h", "6h"} {
				burn = append(burn, fmt.Sprintf(`%s%s{%s} / %s`, ErrorRatio, w, own, budget))
				burnL = append(burnL, whose+" availability, "+w)
			}
		}
		if l := o.Latency; l != nil {
			budget := decimal(l.SlowBudget())
			left = append(left, fmt.Sprintf(`1 - (1 - sum by (destination_version) (rate(istio_request_duration_milliseconds_bucket{%s,le="%s"}[%s])) / sum by (destination_version) (rate(istio_request_duration_milliseconds_count{%s}[%s]))) / %s`,
				sel, l.BoundMillis(), period, sel, period, budget))
			leftL = append(leftL, whose+" latency")
			for _, w := range []string{"1h", "6h"} {
				burn = append(burn, fmt.Sprintf(`%s%s{%s,le="%s"} / %s`, SlowRatio, w, own, l.BoundMillis(), budget))
				burnL = append(burnL, whose+" latency, "+w)
			}
		}
	}
	b.panel("Error budget left", "percentunit", "The share of each objective's error budget not yet spent over its period.", left, leftL)
	b.panel("Burn rate", "none", "How fast the budget burns: 1 spends it exactly over the period; the page alerts fire at 14.4 (an hour) and 6 (six hours).", burn, burnL)
}

// llm adds an LLM server's own figures, by version, from the metric names
// vLLM and SGLang export (a version is read from its pods' names,
// <model>-<version>-<replica set>-<pod>).
func (b *board) llm() {
	names, ok := promgate.LLMServerOf(b.m.Runtime.Name) // the names the LLM gates read
	if !ok {
		return
	}
	b.newRow(b.m.Runtime.Name)
	pods, byVersion := b.pods(), b.byVersion
	quantiles := func(metric string) ([]string, []string) {
		var qs, ls []string
		for _, q := range [][2]string{{"0.5", "p50"}, {"0.99", "p99"}} {
			qs = append(qs, fmt.Sprintf(`histogram_quantile(%s, %s)`, q[0], byVersion("sum", "version, le", fmt.Sprintf(`rate(%s_bucket{%s}[$__rate_interval])`, metric, pods))))
			ls = append(ls, "{{version}} "+q[1])
		}
		return qs, ls
	}
	qs, ls := quantiles(names.TTFT)
	b.panel("Time to first token", "s", "", qs, ls)
	qs, ls = quantiles(names.ITL)
	b.panel("Inter-token latency", "s", "", qs, ls)
	b.panel("Requests running and waiting", "short", "",
		[]string{byVersion("sum", "version", fmt.Sprintf(`%s{%s}`, names.Running, pods)), byVersion("sum", "version", fmt.Sprintf(`%s{%s}`, names.Waiting, pods))},
		[]string{"{{version}} running", "{{version}} waiting"})
	b.panel("KV-cache use", "percentunit", "", []string{byVersion("avg", "version", fmt.Sprintf(`%s{%s}`, names.KVCache, pods))}, []string{"{{version}}"})
	b.panel("Tokens generated", "short", "Tokens a second.", []string{byVersion("sum", "version", fmt.Sprintf(`rate(%s{%s}[$__rate_interval])`, names.Tokens, pods))}, []string{"{{version}}"})
}

// pods selects the model's pods of the chosen versions, as Prometheus
// labels what it scrapes from them: <model>-<version>-<replica set>-<pod>.
func (b *board) pods() string {
	return fmt.Sprintf(`namespace="$namespace",pod=~"%s-($version)-[a-z0-9]+-[a-z0-9]+"`, b.m.Name)
}

// byVersion aggregates expr by the labels of by, after reading a version
// label from the pod's name.
func (b *board) byVersion(agg, by, expr string) string {
	return fmt.Sprintf(`%s by (%s) (label_replace(%s, "version", "$1", "pod", "%s-(.+)-[a-z0-9]+-[a-z0-9]+"))`, agg, by, expr, b.m.Name)
}

// server adds a model server's own view of its requests, by version:
// Triton's time in the queue and in compute per request, TF Serving's
// request and runtime latency at the 99th percentile (from the metric
// names each exports; microseconds, shown in milliseconds).
func (b *board) server() {
	pods, byVersion := b.pods(), b.byVersion
	switch b.m.Runtime.Name {
	case "triton":
		b.newRow("Triton")
		perRequest := func(metric string) string {
			return fmt.Sprintf(`%s / %s / 1000`, byVersion("sum", "version", fmt.Sprintf(`rate(%s{%s}[$__rate_interval])`, metric, pods)),
				byVersion("sum", "version", fmt.Sprintf(`rate(nv_inference_request_success{%s}[$__rate_interval])`, pods)))
		}
		b.panel("Queue time", "ms", "Time a request waits in Triton's queue, on average.", []string{perRequest("nv_inference_queue_duration_us")}, []string{"{{version}}"})
		b.panel("Compute time", "ms", "Time Triton computes a request's inference, on average.", []string{perRequest("nv_inference_compute_infer_duration_us")}, []string{"{{version}}"})
	case "tfserving":
		b.newRow("TF Serving")
		p99 := func(metric string) string {
			return fmt.Sprintf(`histogram_quantile(0.99, %s) / 1000`, byVersion("sum", "version, le", fmt.Sprintf(`rate(%s_bucket{%s}[$__rate_interval])`, metric, pods)))
		}
		b.panel("Request latency", "ms", "TF Serving's request latency at the 99th percentile.", []string{p99(":tensorflow:serving:request_latency")}, []string{"{{version}} p99"})
		b.panel("Runtime latency", "ms", "TF Serving's time running the model, at the 99th percentile.", []string{p99(":tensorflow:serving:runtime_latency")}, []string{"{{version}} p99"})
	}
}

// rollout adds a rollout's weights and step (RolloutCollector).
func (b *board) rollout() {
	b.newRow("Rollout")
	sel := fmt.Sprintf(`namespace="$namespace",model=%q`, b.m.Name)
	b.panel("Rollout weight", "percent", "The share of traffic each version is given at the rollout's step (a program's RolloutCollector).",
		[]string{fmt.Sprintf(`mlmesh_rollout_weight{%s}`, sel)}, []string{"{{version}}"})
	b.panel("Rollout step", "none", "The step a rollout is at (0: the baseline), and its failed analyses.",
		[]string{fmt.Sprintf(`mlmesh_rollout_step{%s}`, sel), fmt.Sprintf(`mlmesh_rollout_failed_analyses{%s}`, sel)}, []string{"{{step}}", "failed analyses"})
}

// DashboardLabel is the label kube-prometheus-stack's Grafana sidecar
// loads dashboards from ConfigMaps by (its default, grafana_dashboard: "1").
const DashboardLabel = "grafana_dashboard"

// Objects returns what an App's observability adds to its stream, for
// installs with kube-prometheus-stack: a ConfigMap per model holding its
// dashboard (<model>-dashboard, key <model>.json, compact JSON, labelled
// for Grafana's sidecar), and the PrometheusRule of the models'
// objectives, if any. Opt in by appending them to mesh.Build's objects.
//
// A fleet's models mostly share one shape (runtime, gateway, objectives):
// each shape's dashboard is built and encoded once, with stand-ins for the
// model's name and uid, and each model's is those bytes with its own name
// put in — the bytes Dashboard's encoding has (a test holds them equal).
func Objects(app mesh.App, opts Options) ([]render.Object, error) {
	if err := app.Validate(); err != nil {
		return nil, err
	}
	out := make([]render.Object, 0, len(app.Models)+1)
	shapes := map[string][]byte{}
	for _, m := range app.Models {
		b, err := modelJSON(app, m, shapes)
		if err != nil {
			return nil, err
		}
		out = append(out, &corev1.ConfigMap{
			TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
			ObjectMeta: metav1.ObjectMeta{Name: m.Name + "-dashboard", Namespace: app.Namespace.Name,
				Labels: map[string]string{labels.App: m.Name, labels.ManagedBy: labels.Manager, DashboardLabel: "1"}},
			Data: map[string]string{m.Name + ".json": string(b)},
		})
	}
	if pr := prometheusRule(app, opts); pr != nil {
		out = append(out, pr)
	}
	return out, nil
}

// The stand-ins of a shape's dashboard for a model's name and uid: DNS
// labels never hold them, and no other part of a dashboard does.
const (
	nameToken = "zz-mlmesh-model-zz"
	uidToken  = "zz-mlmesh-uid-zz"
)

// modelJSON is m's dashboard as compact JSON, from the dashboard of its
// shape in shapes (made when missing).
func modelJSON(app mesh.App, m mesh.Model, shapes map[string][]byte) ([]byte, error) {
	if strings.Contains(app.Namespace.Name, "zz-mlmesh-") || m.Expose != nil && strings.Contains(m.Expose.Gateway, "zz-mlmesh-") {
		d, _, err := buildDashboard(app, m, uid(app.Namespace.Name, m.Name)) // a name that holds a stand-in: no shortcut
		if err != nil {
			return nil, err
		}
		return json.Marshal(d)
	}
	key := shapeKey(m)
	tmpl, ok := shapes[key]
	if !ok {
		stand := m
		stand.Name = nameToken
		d, _, err := buildDashboard(app, stand, uidToken)
		if err != nil {
			return nil, err
		}
		if tmpl, err = json.Marshal(d); err != nil {
			return nil, err
		}
		shapes[key] = tmpl
	}
	return bytes.ReplaceAll(bytes.ReplaceAll(tmpl, []byte(uidToken), []byte(uid(app.Namespace.Name, m.Name))), []byte(nameToken), []byte(m.Name)), nil
}

// shapeKey is what a model's dashboard depends on besides its name.
func shapeKey(m mesh.Model) string {
	gateway := ""
	if m.Expose != nil {
		gateway = m.Expose.Gateway
	}
	var objectives string
	if m.SLO != nil {
		objectives = fmt.Sprintf("%+v %+v", *m.SLO, m.SLO.Latency)
	}
	for _, v := range slices.Sorted(maps.Keys(m.VersionSLOs)) {
		o := m.VersionSLOs[v]
		objectives += fmt.Sprintf(" %s=%+v %+v", v, o, o.Latency)
	}
	return m.Runtime.Name + "|" + gateway + "|" + objectives
}
