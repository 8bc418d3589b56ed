package slo_test

import (
	"math"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/mlmesh/mlmesh/slo"
)

func TestCheck(t *testing.T) {
	p := field.NewPath("slo")
	for _, tc := range []struct {
		name string
		o    slo.Objective
		want string // "" for none
	}{
		{"availability", slo.Objective{Availability: 99.9}, ""},
		{"latency", slo.Objective{Latency: &slo.Latency{Quantile: 0.99, Bound: 500 * time.Millisecond}}, ""},
		{"both, a week", slo.Objective{Availability: 99, Latency: &slo.Latency{Quantile: 0.9, Bound: 500 * time.Microsecond}, Period: 7 * 24 * time.Hour}, ""},
		{"nothing", slo.Objective{}, "slo.availability: Required value: an availability or a latency objective"},
		{"100%", slo.Objective{Availability: 100}, `slo.availability: Invalid value: 100: a percentage above 0 and below 100 (99.9): 100% leaves no error budget`},
		{"over 100%", slo.Objective{Availability: 150}, `slo.availability: Invalid value: 150`},
		{"negative", slo.Objective{Availability: -1}, `slo.availability: Invalid value: -1`},
		{"NaN", slo.Objective{Availability: math.NaN()}, `slo.availability: Invalid value: NaN`},
		{"bound zero", slo.Objective{Latency: &slo.Latency{Quantile: 0.99}}, `slo.latency.bound: Invalid value: "0s": one of the bounds of Istio's request-duration histogram: 500µs, 1ms, 5ms`},
		{"bound off the buckets", slo.Objective{Latency: &slo.Latency{Quantile: 0.99, Bound: 300 * time.Millisecond}}, `slo.latency.bound: Invalid value: "300ms"`},
		{"quantile 1", slo.Objective{Latency: &slo.Latency{Quantile: 1, Bound: time.Second}}, `slo.latency.quantile: Invalid value: 1: a share above 0 and below 1 (0.99)`},
		{"quantile as percent", slo.Objective{Latency: &slo.Latency{Quantile: 99, Bound: time.Second}}, `slo.latency.quantile: Invalid value: 99`},
		{"period an hour", slo.Objective{Availability: 99, Period: time.Hour}, `slo.period: Invalid value: "1h0m0s": whole minutes, at least a day`},
	} {
		errs := tc.o.Check(p)
		got := errs.ToAggregate()
		switch {
		case tc.want == "" && got != nil:
			t.Errorf("%s: %v", tc.name, got)
		case tc.want != "" && (got == nil || !strings.Contains(got.Error(), tc.want)):
			t.Errorf("%s:\n got  %v\n want %s", tc.name, got, tc.want)
		}
	}
}

func TestBudgets(t *testing.T) {
	o := slo.Objective{Availability: 99.9, Latency: &slo.Latency{Quantile: 0.99, Bound: 500 * time.Microsecond}}
	if b := o.ErrorBudget(); math.Abs(b-0.001) > 1e-12 {
		t.Errorf("error budget %v", b)
	}
	if b := o.Latency.SlowBudget(); math.Abs(b-0.01) > 1e-12 {
		t.Errorf("slow budget %v", b)
	}
	if got := o.Latency.BoundMillis(); got != "0.5" {
		t.Errorf("bound %q, want Istio's le label 0.5", got)
	}
	if o.PeriodOrDefault() != 30*24*time.Hour {
		t.Errorf("period %v", o.PeriodOrDefault())
	}
}
