package rollout

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/mlmesh/mlmesh/internal/figure"
	"github.com/mlmesh/mlmesh/names"
)

// Conclusion is what an analysis concluded.
type Conclusion string

// The results of an analysis.
const (
	// Pass: every check held.
	Pass Conclusion = "pass"
	// Fail: a check did not hold.
	Fail Conclusion = "fail"
	// NoData: too little traffic reached the candidate to judge it (fewer
	// requests than the gate asks for, or none at all). The rollout holds
	// its step; too many of these in a row count as a failure (see
	// Driver.NoDataLimit).
	NoData Conclusion = "no data"
)

// Target is what a gate analyses: the candidate at one step of a plan,
// beside the stable version that still serves the rest of the traffic.
type Target struct {
	Namespace, Model string
	// Stable and Candidate are the version names.
	Stable, Candidate string
	// StableWorkload and CandidateWorkload are their Deployments' names,
	// which Istio reports as destination_workload.
	StableWorkload, CandidateWorkload string
	Step                              Step
	// Since is when the cluster reached Step (its weights were applied),
	// from the rollout record, so it holds across runs; zero when unknown.
	// A gate looks no further back than Since: what came before is
	// another step's traffic.
	Since time.Time
}

// Measurement is one figure a gate measured, and what it was held to.
type Measurement struct {
	// Name names the check: "success-rate", "latency-p99".
	Name string
	// Value is the candidate's figure.
	Value float64
	// Stable is the stable version's figure, for a check relative to it;
	// NaN otherwise.
	Stable float64
	// Bound is the limit Value was held to: a minimum or a maximum.
	Bound float64
	// Unit is the figures' unit: "%", "ms", or a custom check's.
	Unit   string
	Result Conclusion
	// Detail says why, in words: "99.1% >= 99%", "412 ms > 400 ms (the
	// stable version's 320 ms + 25%)", "12 requests < 50".
	Detail string
}

// String reads "success-rate 99.1% (pass: 99.1% >= 99%)".
func (m Measurement) String() string {
	if math.IsNaN(m.Value) {
		return fmt.Sprintf("%s (%s: %s)", m.Name, m.Result, m.Detail)
	}
	return fmt.Sprintf("%s %s (%s: %s)", m.Name, figure.Format(m.Value, m.Unit), m.Result, m.Detail)
}

// Verdict is a gate's answer for one analysis.
type Verdict struct {
	Result       Conclusion
	Measurements []Measurement
}

// String reads "pass: success-rate 99.9% (...), latency-p99 24 ms (...)".
func (v Verdict) String() string {
	parts := make([]string, len(v.Measurements))
	for i, m := range v.Measurements {
		parts[i] = m.String()
	}
	if len(parts) == 0 {
		return string(v.Result)
	}
	return string(v.Result) + ": " + strings.Join(parts, ", ")
}

// Combine returns the verdict of several measurements: Fail if any failed,
// else NoData if any lacked data, else Pass.
func Combine(ms []Measurement) Verdict {
	v := Verdict{Result: Pass, Measurements: ms}
	for _, m := range ms {
		switch {
		case m.Result == Fail:
			v.Result = Fail
		case m.Result == NoData && v.Result == Pass:
			v.Result = NoData
		}
	}
	return v
}

// Gate analyses the candidate at a step. An error (the metrics backend
// unreachable, a query refused) is never a pass: the driver tries again
// after its Interval and rolls back after Driver.ErrorLimit errors in a
// row. Package rollout/promgate
// implements Gate on Istio's standard metrics in Prometheus.
type Gate interface {
	Analyse(ctx context.Context, t Target) (Verdict, error)
}

// GateFunc adapts a function to Gate.
type GateFunc func(ctx context.Context, t Target) (Verdict, error)

// Analyse calls f.
func (f GateFunc) Analyse(ctx context.Context, t Target) (Verdict, error) { return f(ctx, t) }

// Evaluate analyses a candidate with g on its own, outside a rollout: a
// registry's "compare v2 with v1 now". t needs Namespace, Model and
// Candidate, and Stable for checks relative to it; the workloads default
// to the versions' Deployments (<model>-<version>), and a zero Since lets
// the gate look back its whole window. The verdict is the gate's, as a
// rollout would have it.
func Evaluate(ctx context.Context, g Gate, t Target) (Verdict, error) {
	var missing []string
	for _, f := range []struct{ name, value string }{{"Namespace", t.Namespace}, {"Model", t.Model}, {"Candidate", t.Candidate}} {
		if f.value == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return Verdict{}, fmt.Errorf("rollout: Evaluate: the target has no %s", strings.Join(missing, ", "))
	}
	if t.CandidateWorkload == "" {
		t.CandidateWorkload = names.Deployment(t.Model, t.Candidate)
	}
	if t.StableWorkload == "" && t.Stable != "" {
		t.StableWorkload = names.Deployment(t.Model, t.Stable)
	}
	return g.Analyse(ctx, t)
}
