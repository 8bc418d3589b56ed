// Package slo holds a model's service level objectives: the share of its
// requests that must succeed, and the share that must be faster than a
// bound, over a period. One declaration in the App is what "healthy" means
// for a model: package observe renders the recording rules and
// multi-window, multi-burn-rate alerts of each objective from it, and
// promgate.FromSLO holds a rollout's candidate to the same bounds.
package slo

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// DefaultPeriod is an objective's period when none is given: 30 days.
const DefaultPeriod = 30 * 24 * time.Hour

// Objective is what a model (or one of its versions) promises its callers.
type Objective struct {
	// Availability is the share of requests, in percent, that must not
	// fail: answered without a 5xx status (on gRPC ports, with an OK gRPC
	// status). From above 0 to below 100: 99.9 leaves an error budget of
	// 0.1%. 0 sets no availability objective.
	Availability float64
	// Latency, if set, is the share of requests that must be faster than
	// a bound.
	Latency *Latency
	// Period is the window the objective holds over, and the error
	// budget is spent over; 0 means DefaultPeriod (30 days). At least a
	// day: the slowest alerts look three days back at most.
	Period time.Duration
}

// Latency is a latency objective: Quantile of the requests complete within
// Bound (0.99 and 500ms: 99% of requests in under 500 ms).
type Latency struct {
	// Quantile is the share of requests, from above 0 to below 1.
	Quantile float64
	// Bound is one of the bounds of Istio's request-duration histogram
	// (IstioBuckets), so that the share of requests within it is counted,
	// not estimated.
	Bound time.Duration
}

// IstioBuckets are the bounds, in milliseconds, of Istio's
// istio_request_duration_milliseconds histogram.
var IstioBuckets = []float64{0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000}

// PeriodOrDefault is the objective's period.
func (o Objective) PeriodOrDefault() time.Duration {
	if o.Period == 0 {
		return DefaultPeriod
	}
	return o.Period
}

// ErrorBudget is the share of requests the availability objective lets
// fail, as a fraction (0.001 for 99.9).
func (o Objective) ErrorBudget() float64 { return 1 - o.Availability/100 }

// SlowBudget is the share of requests the latency objective lets be slow,
// as a fraction (0.01 for a quantile of 0.99).
func (l Latency) SlowBudget() float64 { return 1 - l.Quantile }

// BoundMillis is the bound in milliseconds, as Istio's histogram's le
// label writes it ("500", "0.5").
func (l Latency) BoundMillis() string {
	return strconv.FormatFloat(float64(l.Bound)/float64(time.Millisecond), 'f', -1, 64)
}

// Check returns the objective's problems, at their paths under p.
func (o Objective) Check(p *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch a := o.Availability; {
	case math.IsNaN(a) || a < 0 || a >= 100:
		errs = append(errs, field.Invalid(p.Child("availability"), a, "a percentage above 0 and below 100 (99.9): 100% leaves no error budget"))
	case a == 0 && o.Latency == nil:
		errs = append(errs, field.Required(p.Child("availability"), "an availability or a latency objective"))
	}
	if l := o.Latency; l != nil {
		lp := p.Child("latency")
		if q := l.Quantile; math.IsNaN(q) || q <= 0 || q >= 1 {
			errs = append(errs, field.Invalid(lp.Child("quantile"), q, "a share above 0 and below 1 (0.99)"))
		}
		ms := float64(l.Bound) / float64(time.Millisecond)
		if !slices.Contains(IstioBuckets, ms) {
			bounds := make([]string, len(IstioBuckets))
			for i, b := range IstioBuckets {
				bounds[i] = (time.Duration(b * float64(time.Millisecond))).String()
			}
			errs = append(errs, field.Invalid(lp.Child("bound"), l.Bound.String(),
				"one of the bounds of Istio's request-duration histogram: "+strings.Join(bounds, ", ")))
		}
	}
	if per := o.Period; per != 0 && (per < 24*time.Hour || per%time.Minute != 0) {
		errs = append(errs, field.Invalid(p.Child("period"), per.String(), fmt.Sprintf("whole minutes, at least a day (0 means %s)", "30 days")))
	}
	return errs
}
