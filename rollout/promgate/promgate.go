// Package promgate is a rollout.Gate on Istio's standard metrics in
// Prometheus, read through Prometheus's HTTP API with the official Go
// client: the candidate's request success rate and latency percentiles
// (istio_requests_total, istio_request_duration_milliseconds_bucket, by
// destination workload and namespace), held to absolute bounds or to the
// stable version's own figures, and custom PromQL for a model's own
// metrics (time to first token, say).
//
//	api, err := promgate.NewAPI("http://prometheus.istio-system:9090")
//	gate, err := promgate.New(api, promgate.Options{Window: time.Minute},
//		promgate.SuccessRate(99),
//		promgate.Latency(0.99, 500*time.Millisecond).RelativeToStable(0.25))
//
// Below Options.MinRequests requests to the candidate in the window, the
// verdict is rollout.NoData, not a pass or a fail; with enough requests, a
// check that has no value for the candidate fails (a candidate that
// answers every request with a 5xx has a success rate of 0%). The window
// never reaches before the step under analysis (rollout.Target.Since). A query that fails, or a
// Prometheus that cannot be reached, is an error, never a pass.
package promgate

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/mlmesh/mlmesh/internal/figure"
	"github.com/mlmesh/mlmesh/rollout"
	"github.com/mlmesh/mlmesh/slo"
)

// NewAPI returns a client of the Prometheus HTTP API at address
// ("http://prometheus:9090").
func NewAPI(address string) (promv1.API, error) {
	c, err := api.NewClient(api.Config{Address: address})
	if err != nil {
		return nil, fmt.Errorf("promgate: %w", err)
	}
	return promv1.NewAPI(c), nil
}

// Reporters of Istio's metrics, for Options.Reporter.
const (
	// ReporterDestination: the server's sidecar (the default).
	ReporterDestination = "destination"
	// ReporterSource: the client's sidecar or gateway.
	ReporterSource = "source"
	// ReporterWaypoint: the waypoint proxy of an ambient mesh.
	ReporterWaypoint = "waypoint"
)

// Options are a Gate's settings. The zero value queries one minute of the
// destination's reports and needs 10 requests to judge.
type Options struct {
	// Window is the longest range of a query ([1m]); 0 means one minute.
	// Give it at least two scrape intervals. An analysis never looks
	// before its step: when the step's weights were applied less than
	// Window ago (rollout.Target.Since), the range is cut to that age, so a
	// previous step's or run's traffic can neither fail nor pass the
	// candidate.
	Window time.Duration
	// Reporter is the reporter label of Istio's metrics: "destination"
	// (the default), "source", or "waypoint" under ambient.
	Reporter string
	// Now is the time an analysis ends at; nil is time.Now.
	Now func() time.Time
	// MinRequests is how many requests the candidate must have received in
	// the window for its figures to mean something; below it the verdict is
	// rollout.NoData. 0 means 10.
	MinRequests float64
	// Labels are further label matchers of every query, exact: a global
	// Prometheus's cluster label ({"cluster": "eu-1"}) that tells the
	// clusters of a fleet apart (package multicluster's waves, one gate a
	// cluster). The templates' field .Labels holds them, as
	// ,name="value",... .
	Labels map[string]string
	// Requests is the PromQL template of the candidate's request count,
	// with a Check's fields; empty counts Istio's reports of requests to
	// the candidate's workload. RevisionRequests counts an adapter
	// revision's, which shares its pods with the stable revision.
	Requests string
}

// Direction says which way a check's figure is better.
type Direction int

// The directions of a check.
const (
	// HigherIsBetter: a success rate; the bound is a minimum.
	HigherIsBetter Direction = iota
	// LowerIsBetter: a latency, an error count; the bound is a maximum.
	LowerIsBetter
)

// Check is one figure of the candidate and what it is held to.
type Check struct {
	// Name names it in verdicts: "success-rate", "latency-p99".
	Name string
	// Query is a PromQL text/template giving one value. Its fields are
	// .Namespace, .Workload (the version's Deployment, which Istio reports
	// as destination_workload), .Model, .Version, .Window (a Prometheus
	// duration: "1m") and .Reporter.
	Query string
	// Unit is the figure's unit in messages: "%", "ms".
	Unit   string
	Better Direction
	// Threshold, if set, is the worst figure that passes: a minimum when
	// higher is better, a maximum when lower is.
	Threshold *float64
	// Tolerance, if more than 0, also holds the candidate to the stable
	// version's figure at the same time: at most this fraction worse (0.25:
	// a latency at most 25% above the stable version's). With Threshold
	// too, the stricter of the bounds holds.
	Tolerance float64
	// Margin, if more than 0, also holds the candidate to the stable
	// version's figure at the same time: at most this much worse, in the
	// check's unit (50 for a time to first token at most 50 ms above the
	// stable version's). With Threshold or Tolerance too, the strictest of
	// the bounds holds.
	Margin float64
	// Samples, if set, is a PromQL template giving how many samples the
	// check's figure is made of (the requests a latency histogram
	// counted), with Query's fields; below MinSamples for the candidate
	// (or, for a check relative to it, the stable version) the check's
	// result is rollout.NoData, not a pass or a fail.
	Samples    string
	MinSamples float64
}

// WithinOfStable returns c holding the candidate also to the stable
// version's figure, at most margin worse (in the check's unit).
func (c Check) WithinOfStable(margin float64) Check {
	c.Margin = margin
	return c
}

// AtLeast returns c judging only on at least n samples (Samples).
func (c Check) AtLeast(n float64) Check {
	c.MinSamples = n
	return c
}

// relative reports whether c compares the candidate with the stable version.
func (c Check) relative() bool { return c.Tolerance > 0 || c.Margin > 0 }

// Bound returns a pointer to v, for Check.Threshold.
func Bound(v float64) *float64 { return &v }

// RelativeToStable returns c holding the candidate also to the stable
// version's figure, within tolerance (a fraction).
func (c Check) RelativeToStable(tolerance float64) Check {
	c.Tolerance = tolerance
	return c
}

// selector is the label matcher of one version's reports.
const selector = `reporter="{{.Reporter}}",destination_workload_namespace="{{.Namespace}}",destination_workload="{{.Workload}}"{{.Labels}}`

// SuccessRate is the share of the candidate's requests not answered with a
// 5xx status (nor, on gRPC, with a status other than OK), in percent, at
// least min: the failures package observe's alerts and dashboards count.
func SuccessRate(min float64) Check {
	return Check{
		Name: "success-rate",
		// "or vector(0)": a candidate that answers every request with a 5xx
		// has no other series at all; its success rate is 0%, not unknown.
		Query: `(sum(rate(istio_requests_total{` + selector + `,response_code!~"5..",grpc_response_status=~"|0"}[{{.Window}}])) or vector(0))` +
			` / sum(rate(istio_requests_total{` + selector + `}[{{.Window}}])) * 100`,
		Unit: "%", Better: HigherIsBetter, Threshold: Bound(min),
	}
}

// Latency is the candidate's request duration at quantile (0.99 for the
// 99th percentile), from Istio's histogram, in milliseconds, at most max.
func Latency(quantile float64, max time.Duration) Check {
	q := strconv.FormatFloat(quantile, 'f', -1, 64)
	return Check{
		Name: "latency-p" + strings.TrimPrefix(strconv.FormatFloat(quantile*100, 'f', -1, 64), "0."),
		Query: `histogram_quantile(` + q + `, sum(rate(istio_request_duration_milliseconds_bucket{` + selector +
			`}[{{.Window}}])) by (le))`,
		Unit: "ms", Better: LowerIsBetter, Threshold: Bound(float64(max) / float64(time.Millisecond)),
	}
}

// FromSLO returns the checks that hold a candidate to a model's
// objectives (mesh.Model.SLO, or the candidate's own in VersionSLOs), so
// that the rollout gate, the alerts and the dashboards agree on what
// healthy means: its success rate at least the availability objective, and
// its latency at the objective's quantile at most the objective's bound.
// An analysis judges minutes, not the objective's period: the candidate is
// held to the objective itself, not to an error budget.
func FromSLO(o slo.Objective) []Check {
	var checks []Check
	if o.Availability > 0 {
		checks = append(checks, SuccessRate(o.Availability))
	}
	if l := o.Latency; l != nil {
		checks = append(checks, Latency(l.Quantile, l.Bound))
	}
	return checks
}

// Custom is a check of a query of one's own (a model server's time to
// first token, say), with a threshold.
func Custom(name, query, unit string, better Direction, threshold float64) Check {
	return Check{Name: name, Query: query, Unit: unit, Better: better, Threshold: Bound(threshold)}
}

// requests is the candidate's request count in the window.
const requests = `sum(increase(istio_requests_total{` + selector + `}[{{.Window}}]))`

// Gate is a rollout.Gate on Prometheus.
type Gate struct {
	api     promv1.API
	opts    Options
	checks  []Check
	tmpl    []*template.Template
	samples []*template.Template // nil where a check has no Samples
	count   *template.Template
	labels  string // Options.Labels as matchers
}

var _ rollout.Gate = (*Gate)(nil)

// New returns a Gate asking api, holding the candidate to every check.
// It fails on a check that names nothing, a template that does not parse,
// or an unknown reporter.
func New(api promv1.API, opts Options, checks ...Check) (*Gate, error) {
	if opts.Window <= 0 {
		opts.Window = time.Minute
	}
	if opts.Window < time.Second {
		return nil, fmt.Errorf("promgate: Options.Window %v is under Prometheus's resolution of a second", opts.Window)
	}
	if opts.Reporter == "" {
		opts.Reporter = ReporterDestination
	}
	switch opts.Reporter {
	case ReporterDestination, ReporterSource, ReporterWaypoint:
	default:
		return nil, fmt.Errorf("promgate: Options.Reporter %q: want destination, source or waypoint", opts.Reporter)
	}
	if opts.MinRequests <= 0 {
		opts.MinRequests = 10
	}
	if len(checks) == 0 {
		return nil, fmt.Errorf("promgate: no checks")
	}
	labels, err := Matchers(opts.Labels)
	if err != nil {
		return nil, err
	}
	g := &Gate{api: api, opts: opts, checks: checks, labels: labels}
	for i, c := range checks {
		if c.Name == "" {
			return nil, fmt.Errorf("promgate: check %d has no name", i)
		}
		if c.Threshold == nil && !c.relative() {
			return nil, fmt.Errorf("promgate: check %s holds the candidate to nothing: give it a Threshold, a Tolerance or a Margin", c.Name)
		}
		if c.MinSamples > 0 && c.Samples == "" {
			return nil, fmt.Errorf("promgate: check %s needs %g samples and has no Samples query to count them", c.Name, c.MinSamples)
		}
		t, err := template.New(c.Name).Option("missingkey=error").Parse(c.Query)
		if err != nil {
			return nil, fmt.Errorf("promgate: check %s: %w", c.Name, err)
		}
		var st *template.Template
		if c.Samples != "" {
			if st, err = template.New(c.Name + " samples").Option("missingkey=error").Parse(c.Samples); err != nil {
				return nil, fmt.Errorf("promgate: check %s: Samples: %w", c.Name, err)
			}
		}
		g.tmpl, g.samples = append(g.tmpl, t), append(g.samples, st)
	}
	count, err := template.New("requests").Option("missingkey=error").Parse(cmp.Or(opts.Requests, requests))
	if err != nil {
		return nil, fmt.Errorf("promgate: Options.Requests: %w", err)
	}
	g.count = count
	return g, nil
}

// labelName is a label name PromQL takes unquoted.
var labelName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// Matchers are labels as exact PromQL matchers, each after a comma, in
// name order: `,cluster="eu-1"`. A name that is not a Prometheus label
// name is an error.
func Matchers(labels map[string]string) (string, error) {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		if !labelName.MatchString(k) || strings.HasPrefix(k, "__") {
			return "", fmt.Errorf("promgate: Options.Labels: %q is not a label name", k)
		}
		b.WriteString("," + k + "=" + strconv.Quote(labels[k]))
	}
	return b.String(), nil
}

func (g *Gate) now() time.Time {
	if g.opts.Now != nil {
		return g.opts.Now()
	}
	return time.Now()
}

// params are a query template's fields.
type params struct {
	Namespace, Workload, Model, Version, Window, Reporter string
	// Labels are Options.Labels as matchers: ,name="value",...
	Labels string
}

func (g *Gate) params(t rollout.Target, window time.Duration, stable bool) params {
	p := params{Namespace: t.Namespace, Workload: t.CandidateWorkload, Model: t.Model, Version: t.Candidate,
		Window: model.Duration(window).String(), Reporter: g.opts.Reporter, Labels: g.labels}
	if stable {
		p.Workload, p.Version = t.StableWorkload, t.Stable
	}
	return p
}

// query runs one template and returns its one value, NaN when the result
// is empty (no series yet).
// window is the range of an analysis at now: Options.Window, cut to the
// time since the step's weights were applied (to the millisecond,
// Prometheus's resolution).
func (g *Gate) window(t rollout.Target, now time.Time) time.Duration {
	w := g.opts.Window
	if !t.Since.IsZero() {
		if age := now.Sub(t.Since).Truncate(time.Millisecond); age < w {
			w = age
		}
	}
	return w
}

// query runs one template at now and returns its one value, NaN when the
// result is empty (no series yet).
func (g *Gate) query(ctx context.Context, t *template.Template, p params, now time.Time) (float64, string, error) {
	var b bytes.Buffer
	if err := t.Execute(&b, p); err != nil {
		return 0, "", fmt.Errorf("promgate: check %s: %w", t.Name(), err)
	}
	q := b.String()
	v, _, _, err := g.api.Query(ctx, q, now)
	if err != nil {
		return 0, q, fmt.Errorf("promgate: query %s: %w", q, err)
	}
	switch r := v.(type) {
	case model.Vector:
		if len(r) == 0 {
			return math.NaN(), q, nil
		}
		if len(r) > 1 {
			return 0, q, fmt.Errorf("promgate: query %s gave %d series, want one value", q, len(r))
		}
		return float64(r[0].Value), q, nil
	case *model.Scalar:
		return float64(r.Value), q, nil
	}
	return 0, q, fmt.Errorf("promgate: query %s gave a %s, want one value", q, v.Type())
}

// Analyse implements rollout.Gate: the candidate's request count first,
// then every check.
// Analyse implements rollout.Gate: the candidate's request count first,
// then every check, all over the same range ending now.
func (g *Gate) Analyse(ctx context.Context, t rollout.Target) (rollout.Verdict, error) {
	now := g.now()
	w := g.window(t, now)
	if w < time.Second {
		return rollout.Combine([]rollout.Measurement{{Name: "requests", Value: math.NaN(), Stable: math.NaN(), Bound: g.opts.MinRequests, Result: rollout.NoData,
			Detail: fmt.Sprintf("the step began %s ago, too little to judge", w)}}), nil
	}
	n, _, err := g.query(ctx, g.count, g.params(t, w, false), now)
	if err != nil {
		return rollout.Verdict{}, err
	}
	if math.IsNaN(n) || n < g.opts.MinRequests {
		if math.IsNaN(n) {
			n = 0
		}
		return rollout.Combine([]rollout.Measurement{{Name: "requests", Value: n, Stable: math.NaN(), Bound: g.opts.MinRequests, Result: rollout.NoData,
			Detail: fmt.Sprintf("%.0f requests to %s in %s, fewer than the %.0f needed to judge", n, g.candidateName(t), model.Duration(w), g.opts.MinRequests)}}), nil
	}
	ms := make([]rollout.Measurement, 0, len(g.checks))
	for i := range g.checks {
		m, err := g.check(ctx, i, t, w, now, n)
		if err != nil {
			return rollout.Verdict{}, err
		}
		ms = append(ms, m)
	}
	return rollout.Combine(ms), nil
}

// candidateName names the candidate in messages: its workload, or the
// candidate itself when the requests are counted by another measure (an
// adapter's revision, on the stable revision's pods).
func (g *Gate) candidateName(t rollout.Target) string {
	if g.opts.Requests != "" {
		return t.Candidate
	}
	return t.CandidateWorkload
}

// check measures one check of the candidate, which received n requests in
// the window w: enough to judge it, so a check with no value for it fails
// (a figure that cannot be read cannot be held to its bound). A check of
// too few samples (Check.MinSamples) is no data.
func (g *Gate) check(ctx context.Context, i int, target rollout.Target, w time.Duration, now time.Time, n float64) (rollout.Measurement, error) {
	c, t := g.checks[i], g.tmpl[i]
	m := rollout.Measurement{Name: c.Name, Unit: c.Unit, Stable: math.NaN()}
	if short, err := g.tooFewSamples(ctx, i, target, w, now); err != nil || short != "" {
		m.Value, m.Result, m.Detail = math.NaN(), rollout.NoData, short
		return m, err
	}
	v, _, err := g.query(ctx, t, g.params(target, w, false), now)
	if err != nil {
		return m, err
	}
	m.Value = v
	if math.IsNaN(v) || math.IsInf(v, 0) {
		m.Result, m.Detail = rollout.Fail, fmt.Sprintf("no value for the candidate, which received %.0f requests in %s", n, model.Duration(w))
		return m, nil
	}
	bound, why := math.NaN(), ""
	if c.Threshold != nil {
		bound, why = *c.Threshold, "threshold"
	}
	if c.relative() {
		s, _, err := g.query(ctx, t, g.params(target, w, true), now)
		if err != nil {
			return m, err
		}
		m.Stable = s
		if math.IsNaN(s) || math.IsInf(s, 0) {
			m.Result, m.Detail = rollout.NoData, "no value for the stable version to compare with"
			return m, nil
		}
		bound, why = c.stricter(bound, why, s)
	}
	m.Bound = bound
	pass := v >= bound
	op, nop := ">=", "<"
	if c.Better == LowerIsBetter {
		pass, op, nop = v <= bound, "<=", ">"
	}
	m.Result = rollout.Pass
	if !pass {
		m.Result, op = rollout.Fail, nop
	}
	m.Detail = fmt.Sprintf("%s %s %s (%s)", figure.Format(v, c.Unit), op, figure.Format(bound, c.Unit), why)
	return m, nil
}

// stricter is the stricter of bound and the bounds c's Tolerance and
// Margin set from the stable version's figure s, and why it holds.
func (c Check) stricter(bound float64, why string, s float64) (float64, string) {
	worse := func(by float64) float64 {
		if c.Better == LowerIsBetter {
			return s + by
		}
		return s - by
	}
	sign := map[Direction]string{HigherIsBetter: "-", LowerIsBetter: "+"}[c.Better]
	tighter := func(b float64) bool {
		return math.IsNaN(bound) || c.Better == HigherIsBetter && b > bound || c.Better == LowerIsBetter && b < bound
	}
	if c.Tolerance > 0 {
		if b := worse(math.Abs(s) * c.Tolerance); tighter(b) {
			bound, why = b, fmt.Sprintf("the stable version's %s %s %g%%", figure.Format(s, c.Unit), sign, c.Tolerance*100)
		}
	}
	if c.Margin > 0 {
		if b := worse(c.Margin); tighter(b) {
			bound, why = b, fmt.Sprintf("the stable version's %s %s %s", figure.Format(s, c.Unit), sign, figure.Format(c.Margin, c.Unit))
		}
	}
	return bound, why
}

// tooFewSamples says why check i has too few samples to judge (for the
// candidate or, relative to it, the stable version), or "".
func (g *Gate) tooFewSamples(ctx context.Context, i int, target rollout.Target, w time.Duration, now time.Time) (string, error) {
	c, st := g.checks[i], g.samples[i]
	if st == nil || c.MinSamples <= 0 {
		return "", nil
	}
	versions := []bool{false}
	if c.relative() {
		versions = append(versions, true)
	}
	for _, stable := range versions {
		p := g.params(target, w, stable)
		k, _, err := g.query(ctx, st, p, now)
		if err != nil {
			return "", err
		}
		if math.IsNaN(k) {
			k = 0
		}
		if k < c.MinSamples {
			return fmt.Sprintf("%.0f samples of %s in %s, fewer than the %.0f needed to judge", k, p.Workload, model.Duration(w), c.MinSamples), nil
		}
	}
	return "", nil
}
