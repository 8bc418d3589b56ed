package observe

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/prometheus/common/model"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"

	"github.com/mlmesh/mlmesh/internal/labels"
	"github.com/mlmesh/mlmesh/mesh"
	"github.com/mlmesh/mlmesh/slo"
)

// Options are the rules' settings.
type Options struct {
	// Scale multiplies every window of the rules (5m … 3d), for a test
	// that cannot wait hours for an alert; 0 means 1. Production rules keep
	// 1: the burn-rate factors assume the SRE workbook's windows.
	Scale float64
	// RuleLabels are added to the PrometheusRule's labels, for the
	// Prometheus that selects rules by label (kube-prometheus-stack's
	// "release: <name>").
	RuleLabels map[string]string
}

// The windows of the recording rules, and the SRE workbook's alerts over
// them: a page when an hour (checked by its last 5 minutes) burns the
// budget at 14.4× (2% of a 30-day budget in an hour), or six hours
// (checked by 30 minutes) at 6×; a ticket when a day (by 2 hours) burns at
// 3×, or three days (by 6 hours) at 1×.
var (
	windows = []time.Duration{5 * time.Minute, 30 * time.Minute, time.Hour, 2 * time.Hour, 6 * time.Hour, 24 * time.Hour, 72 * time.Hour}
	alerts  = []burn{
		{"page", time.Hour, 5 * time.Minute, 14.4},
		{"page", 6 * time.Hour, 30 * time.Minute, 6},
		{"ticket", 24 * time.Hour, 2 * time.Hour, 3},
		{"ticket", 72 * time.Hour, 6 * time.Hour, 1},
	}
)

// burn is one multi-window alert condition: the long and the short window
// both burning the budget at factor× its even rate.
type burn struct {
	severity    string
	long, short time.Duration
	factor      float64
}

// The names of the recording rules, by SLI; the window follows ("5m").
const (
	// RequestsRate is every request to a version, a second.
	RequestsRate = "model_version:istio_requests:rate"
	// ErrorRatio is the share of a version's requests that failed: a 5xx
	// status, or a gRPC status other than OK.
	ErrorRatio = "model_version:istio_request_errors:ratio_rate"
	// SlowRatio is the share of a version's requests slower than the
	// model's latency bound.
	SlowRatio = "model_version:istio_request_slow:ratio_rate"
)

// model is one model's objectives as the rules read them.
type modelSLOs struct {
	namespace, name, reporter string
	// objectives by version; "" is the model's own, for the versions
	// without one of their own.
	objectives map[string]slo.Objective
}

// Rules returns the recording rules and burn-rate alerts of every model of
// app that declares an objective (Model.SLO, Model.VersionSLOs), in one
// group named mlmesh-slo-<namespace> (none when no model does), as a
// PrometheusRule's spec holds them: the recording rules once for the
// App's models, the alerts per model and objective. The series are Istio's
// standard metrics as the App's dialect reports them: the destination's
// sidecar, or the waypoint in an ambient namespace. An App mlmesh would
// not build is refused with the same *mesh.ValidationError.
func Rules(app mesh.App, opts Options) ([]monitoringv1.RuleGroup, error) {
	if err := app.Validate(); err != nil {
		return nil, err
	}
	return rules(app, opts), nil
}

// rules are the rules of a valid App.
func rules(app mesh.App, opts Options) []monitoringv1.RuleGroup {
	scale := opts.Scale
	if scale <= 0 {
		scale = 1
	}
	models := objectives(app)
	if len(models) == 0 {
		return nil
	}
	return []monitoringv1.RuleGroup{group(app.Namespace.Name, models, scale)}
}

// objectives lists the models of app with objectives.
func objectives(app mesh.App) []modelSLOs {
	var out []modelSLOs
	for _, m := range app.Models {
		if ms, ok := objectivesOf(app, m); ok {
			out = append(out, ms)
		}
	}
	return out
}

// objectivesOf are a model's objectives; false when it declares none.
func objectivesOf(app mesh.App, m mesh.Model) (modelSLOs, bool) {
	if m.SLO == nil && len(m.VersionSLOs) == 0 {
		return modelSLOs{}, false
	}
	ms := modelSLOs{namespace: app.Namespace.Name, name: m.Name, reporter: reporterOf(app), objectives: map[string]slo.Objective{}}
	if m.SLO != nil {
		ms.objectives[""] = *m.SLO
	}
	maps.Copy(ms.objectives, m.VersionSLOs)
	return ms, true
}

// selector matches the requests to models as their destination (or
// waypoint) reports them.
func selector(models []modelSLOs, extra string) string {
	names := make([]string, len(models))
	for i, m := range models {
		names[i] = m.name
	}
	app := fmt.Sprintf(`destination_app=%q`, names[0])
	if len(names) > 1 {
		app = fmt.Sprintf(`destination_app=~%q`, strings.Join(names, "|")) // DNS labels: no regexp syntax in them
	}
	s := fmt.Sprintf(`reporter=%q,destination_workload_namespace=%q,`, models[0].reporter, models[0].namespace) + app
	if extra != "" {
		s += "," + extra
	}
	return s
}

const by = "destination_workload_namespace, destination_app, destination_version"

// goodRequests matches the requests that did not fail: no 5xx status, and
// on gRPC an OK status (HTTP requests have no gRPC status).
const goodRequests = `response_code!~"5..",grpc_response_status=~"|0"`

// group is the model's rule group.
func group(namespace string, models []modelSLOs, scale float64) monitoringv1.RuleGroup {
	g := monitoringv1.RuleGroup{Name: "mlmesh-slo-" + namespace}
	all := selector(models, "")
	for _, w := range windows {
		d := promDuration(w, scale)
		suffix := promDuration(w, 1)
		g.Rules = append(g.Rules,
			record(RequestsRate+suffix, fmt.Sprintf(`sum by (%s) (rate(istio_requests_total{%s}[%s]))`, by, all, d)),
			record(ErrorRatio+suffix, fmt.Sprintf(`1 - ((sum by (%s) (rate(istio_requests_total{%s}[%s])) or (0 * sum by (%s) (rate(istio_requests_total{%s}[%s])))) / sum by (%s) (rate(istio_requests_total{%s}[%s])))`,
				by, selector(models, goodRequests), d, by, all, d, by, all, d)))
		for _, bound := range latencies(models) {
			var with []modelSLOs
			for _, m := range models {
				if slices.Contains(m.latencies(), bound) {
					with = append(with, m)
				}
			}
			g.Rules = append(g.Rules, monitoringv1.Rule{
				Record: SlowRatio + suffix,
				Expr: intstr.FromString(fmt.Sprintf(`1 - (sum by (%s) (rate(istio_request_duration_milliseconds_bucket{%s}[%s])) / sum by (%s) (rate(istio_request_duration_milliseconds_count{%s}[%s])))`,
					by, selector(with, "le="+strconv.Quote(bound)), d, by, selector(with, ""), d)),
				Labels: map[string]string{"le": bound},
			})
		}
	}
	for _, m := range models {
		for _, v := range slices.Sorted(maps.Keys(m.objectives)) {
			o := m.objectives[v]
			versions := m.versionMatcher(v)
			if o.Availability > 0 {
				g.Rules = append(g.Rules, m.alerts("availability", ErrorRatio, v, versions, "", o.ErrorBudget(), fmt.Sprintf("%g%% of requests succeed", o.Availability), o)...)
			}
			if l := o.Latency; l != nil {
				g.Rules = append(g.Rules, m.alerts("latency", SlowRatio, v, versions, `,le="`+l.BoundMillis()+`"`, l.SlowBudget(),
					fmt.Sprintf("%g%% of requests complete within %s", l.Quantile*100, l.Bound), o)...)
			}
		}
	}
	return g
}

// latencies are the distinct latency bounds of the models' objectives.
func latencies(models []modelSLOs) []string {
	var out []string
	for _, m := range models {
		for _, b := range m.latencies() {
			if !slices.Contains(out, b) {
				out = append(out, b)
			}
		}
	}
	slices.Sort(out)
	return out
}

// latencies are the distinct latency bounds of the model's objectives, in
// Istio's le label's words.
func (m modelSLOs) latencies() []string {
	var out []string
	for _, o := range m.objectives {
		if o.Latency != nil && !slices.Contains(out, o.Latency.BoundMillis()) {
			out = append(out, o.Latency.BoundMillis())
		}
	}
	slices.Sort(out)
	return out
}

// versionMatcher selects the versions an objective holds for: the named
// one, or ("") every version without an objective of its own.
func (m modelSLOs) versionMatcher(v string) string {
	if v != "" {
		return fmt.Sprintf(`destination_version=%q`, v)
	}
	var own []string
	for name := range m.objectives {
		if name != "" {
			own = append(own, name)
		}
	}
	if len(own) == 0 {
		return ""
	}
	slices.Sort(own)
	return fmt.Sprintf(`destination_version!~%q`, strings.Join(own, "|"))
}

// alerts are an objective's page and ticket alerts on the ratio rule. The
// labels model and objective say whose it is: the model's ("model"), or a
// version's own.
func (m modelSLOs) alerts(sli, ratio, version, versions, extra string, budget float64, promise string, o slo.Objective) []monitoringv1.Rule {
	objective := version
	if objective == "" {
		objective = "model"
	}
	sel := fmt.Sprintf(`destination_workload_namespace=%q,destination_app=%q`, m.namespace, m.name) + extra
	if versions != "" {
		sel += "," + versions
	}
	var out []monitoringv1.Rule
	for _, severity := range []string{"page", "ticket"} {
		var conds []string
		for _, b := range alerts {
			if b.severity != severity {
				continue
			}
			threshold := decimal(b.factor * budget)
			conds = append(conds, fmt.Sprintf(`(%s%s{%s} > %s and %s%s{%s} > %s)`,
				ratio, promDuration(b.long, 1), sel, threshold, ratio, promDuration(b.short, 1), sel, threshold))
		}
		name := "ModelAvailabilityBudgetBurn"
		if sli == "latency" {
			name = "ModelLatencyBudgetBurn"
		}
		out = append(out, monitoringv1.Rule{
			Alert:  name,
			Expr:   intstr.FromString(strings.Join(conds, " or ")),
			Labels: map[string]string{"severity": severity, "slo": sli, "model": m.name, "objective": objective},
			Annotations: map[string]string{
				"summary": fmt.Sprintf("%s/%s version {{ $labels.destination_version }} burns its %s error budget too fast", m.namespace, m.name, sli),
				"description": fmt.Sprintf("The objective: %s over %s. At this rate the budget is gone well before the period ends (%s).",
					promise, model.Duration(o.PeriodOrDefault()), severity),
			},
		})
	}
	return out
}

func record(name, expr string) monitoringv1.Rule {
	return monitoringv1.Rule{Record: name, Expr: intstr.FromString(expr)}
}

// promDuration writes d×scale as Prometheus does ("5m", "1h", "3d"), to
// the millisecond.
func promDuration(d time.Duration, scale float64) string {
	return model.Duration(time.Duration(float64(d) * scale).Round(time.Millisecond)).String()
}

// RuleFile returns the rules as a plain Prometheus rule file ("groups:"),
// for a Prometheus without the Operator: rule_files in prometheus.yml.
func RuleFile(app mesh.App, opts Options) ([]byte, error) {
	groups, err := Rules(app, opts)
	if err != nil {
		return nil, err
	}
	return yaml.Marshal(monitoringv1.PrometheusRuleSpec{Groups: groups})
}

// PrometheusRule returns the rules as the Prometheus Operator's
// PrometheusRule, named <namespace>-slos in the App's namespace, or nil
// when no model declares an objective.
func PrometheusRule(app mesh.App, opts Options) (*monitoringv1.PrometheusRule, error) {
	if err := app.Validate(); err != nil {
		return nil, err
	}
	return prometheusRule(app, opts), nil
}

// prometheusRule is the PrometheusRule of a valid App, or nil.
func prometheusRule(app mesh.App, opts Options) *monitoringv1.PrometheusRule {
	groups := rules(app, opts)
	if len(groups) == 0 {
		return nil
	}
	l := map[string]string{labels.ManagedBy: labels.Manager}
	maps.Copy(l, opts.RuleLabels)
	return &monitoringv1.PrometheusRule{
		TypeMeta:   metav1.TypeMeta{APIVersion: "monitoring.coreos.com/v1", Kind: "PrometheusRule"},
		ObjectMeta: metav1.ObjectMeta{Name: app.Namespace.Name + "-slos", Namespace: app.Namespace.Name, Labels: l},
		Spec:       monitoringv1.PrometheusRuleSpec{Groups: groups},
	}
}

// decimal writes a budget or threshold to ten digits: 14.4 × (1 - 99.9/100)
// is 0.0144, not its float's 0.014399999999998414.
func decimal(f float64) string { return strconv.FormatFloat(f, 'g', 10, 64) }
