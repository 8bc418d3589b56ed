package promgate_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mlmesh/mlmesh/rollout"
	"github.com/mlmesh/mlmesh/rollout/promgate"
	"github.com/mlmesh/mlmesh/slo"
)

// fakeAPI answers Prometheus's /api/v1/query from a function of the query,
// for unit tests of the verdict logic (the conformance suite runs a real
// Prometheus). A missing value answers an empty vector.
func fakeAPI(t *testing.T, answer func(q string) (float64, bool)) (string, *[]string) {
	t.Helper()
	var queries []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil || r.URL.Path != "/api/v1/query" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		q := r.Form.Get("query")
		queries = append(queries, q)
		result := []any{}
		if v, ok := answer(q); ok {
			result = append(result, map[string]any{"metric": map[string]string{}, "value": []any{1.7e9, strconv.FormatFloat(v, 'g', -1, 64)}})
		}
		json.NewEncoder(w).Encode(map[string]any{"status": "success", "data": map[string]any{"resultType": "vector", "result": result}})
	}))
	t.Cleanup(srv.Close)
	return srv.URL, &queries
}

var target = rollout.Target{Namespace: "ml", Model: "fraud", Stable: "v1", Candidate: "v2", StableWorkload: "fraud-v1", CandidateWorkload: "fraud-v2"}

// figures answers by query kind and workload.
func figures(requests, successV2, p99V2, p99V1 float64) func(string) (float64, bool) {
	return func(q string) (float64, bool) {
		v2 := strings.Contains(q, `destination_workload="fraud-v2"`)
		switch {
		case strings.HasPrefix(q, "sum(increase("):
			return requests, v2
		case strings.Contains(q, "response_code!~"):
			return successV2, v2
		case strings.HasPrefix(q, "histogram_quantile(0.99"):
			if v2 {
				return p99V2, true
			}
			return p99V1, true
		}
		return 0, false
	}
}

func TestVerdicts(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		answer func(string) (float64, bool)
		checks []promgate.Check
		want   rollout.Conclusion
		detail string
	}{
		{"healthy", figures(120, 100, 24.9, 24.9), []promgate.Check{promgate.SuccessRate(99), promgate.Latency(0.99, 500*time.Millisecond)}, rollout.Pass, "100% >= 99% (threshold)"},
		{"errors", figures(120, 95, 24.9, 24.9), []promgate.Check{promgate.SuccessRate(99), promgate.Latency(0.99, 500*time.Millisecond)}, rollout.Fail, "95% < 99% (threshold)"},
		{"slow", figures(120, 100, 995, 24.9), []promgate.Check{promgate.SuccessRate(99), promgate.Latency(0.99, 500*time.Millisecond)}, rollout.Fail, "995 ms > 500 ms (threshold)"},
		{"too few requests", figures(3, 100, 24.9, 24.9), []promgate.Check{promgate.SuccessRate(99)}, rollout.NoData, "3 requests to fraud-v2 in 1m, fewer than the 10 needed"},
		{"no series", func(string) (float64, bool) { return 0, false }, []promgate.Check{promgate.SuccessRate(99)}, rollout.NoData, "0 requests"},
		{"slower than the stable version", figures(120, 100, 300, 200), []promgate.Check{promgate.Latency(0.99, time.Second).RelativeToStable(0.25)}, rollout.Fail,
			"300 ms > 250 ms (the stable version's 200 ms + 25%)"},
		{"within the stable version's", figures(120, 100, 240, 200), []promgate.Check{promgate.Latency(0.99, time.Second).RelativeToStable(0.25)}, rollout.Pass, "240 ms <= 250 ms"},
		{"the threshold is stricter", figures(120, 100, 240, 200), []promgate.Check{promgate.Latency(0.99, 230*time.Millisecond).RelativeToStable(0.25)}, rollout.Fail, "240 ms > 230 ms (threshold)"},
		// Only 5xx answers: Istio has no other series, and the success
		// query's "or vector(0)" makes the rate 0, as Prometheus answers it.
		{"only 5xx", figures(120, 0, 24.9, 24.9), []promgate.Check{promgate.SuccessRate(99)}, rollout.Fail, "0% < 99% (threshold)"},
		// Enough requests, and a check with no value: a fail, not no data.
		{"no value with requests", func(q string) (float64, bool) { return 120, strings.HasPrefix(q, "sum(increase(") },
			[]promgate.Check{promgate.Custom("ttft", `avg(vllm:time_to_first_token_seconds{pod=~"{{.Workload}}-.*"})`, "ms", promgate.LowerIsBetter, 200)},
			rollout.Fail, "no value for the candidate, which received 120 requests in 1m"},
		{"custom", func(q string) (float64, bool) {
			if strings.HasPrefix(q, "sum(increase(") {
				return 50, true
			}
			return 180, q == `avg(vllm:time_to_first_token_seconds{namespace="ml",pod=~"fraud-v2-.*"}) * 1000`
		}, []promgate.Check{promgate.Custom("ttft", `avg(vllm:time_to_first_token_seconds{namespace="{{.Namespace}}",pod=~"{{.Workload}}-.*"}) * 1000`, "ms", promgate.LowerIsBetter, 200)},
			rollout.Pass, "180 ms <= 200 ms"},
	} {
		url, queries := fakeAPI(t, tc.answer)
		api, err := promgate.NewAPI(url)
		if err != nil {
			t.Fatal(err)
		}
		g, err := promgate.New(api, promgate.Options{}, tc.checks...)
		if err != nil {
			t.Fatal(err)
		}
		v, err := g.Analyse(ctx, target)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if v.Result != tc.want || !strings.Contains(v.String(), tc.detail) {
			t.Errorf("%s: %s\n want %s with %q; queries:\n  %s", tc.name, v, tc.want, tc.detail, strings.Join(*queries, "\n  "))
		}
	}
}

func TestQueriesUseIstioLabels(t *testing.T) {
	url, queries := fakeAPI(t, figures(100, 100, 20, 20))
	api, _ := promgate.NewAPI(url)
	g, err := promgate.New(api, promgate.Options{Reporter: promgate.ReporterWaypoint, Window: 30 * time.Second}, promgate.SuccessRate(99), promgate.Latency(0.95, time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.Analyse(context.Background(), target); err != nil {
		t.Fatal(err)
	}
	want := []string{
		`sum(increase(istio_requests_total{reporter="waypoint",destination_workload_namespace="ml",destination_workload="fraud-v2"}[30s]))`,
		`(sum(rate(istio_requests_total{reporter="waypoint",destination_workload_namespace="ml",destination_workload="fraud-v2",response_code!~"5..",grpc_response_status=~"|0"}[30s])) or vector(0)) / sum(rate(istio_requests_total{reporter="waypoint",destination_workload_namespace="ml",destination_workload="fraud-v2"}[30s])) * 100`,
		`histogram_quantile(0.95, sum(rate(istio_request_duration_milliseconds_bucket{reporter="waypoint",destination_workload_namespace="ml",destination_workload="fraud-v2"}[30s])) by (le))`,
	}
	if strings.Join(*queries, "\n") != strings.Join(want, "\n") {
		t.Errorf("queries:\n  %s\nwant\n  %s", strings.Join(*queries, "\n  "), strings.Join(want, "\n  "))
	}
}

// TestWindowNeverReachesBeforeTheStep: a step applied 10 s ago is judged
// on 10 s, at the gate's own time, though the window is a minute; one
// older than the window on the window; one under a second old is not
// judged at all.
func TestWindowNeverReachesBeforeTheStep(t *testing.T) {
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		age, window string
		want        rollout.Conclusion
	}{
		{"10s", "10s", rollout.Pass},
		{"10.25s", "10s250ms", rollout.Pass},
		{"5m", "1m", rollout.Pass},
		{"0s", "1m", rollout.Pass}, // Since unknown (zero): the configured window
		{"500ms", "", rollout.NoData},
	} {
		url, queries := fakeAPI(t, figures(120, 100, 20, 20))
		api, _ := promgate.NewAPI(url)
		g, err := promgate.New(api, promgate.Options{Now: func() time.Time { return now }}, promgate.SuccessRate(99))
		if err != nil {
			t.Fatal(err)
		}
		tg := target
		if age, _ := time.ParseDuration(tc.age); age > 0 {
			tg.Since = now.Add(-age)
		}
		v, err := g.Analyse(context.Background(), tg)
		if err != nil || v.Result != tc.want {
			t.Errorf("step %s old: %s, %v; want %s", tc.age, v, err, tc.want)
		}
		for _, q := range *queries {
			if !strings.Contains(q, "["+tc.window+"]") || strings.Count(q, "[") != strings.Count(q, "["+tc.window+"]") {
				t.Errorf("step %s old: query %s, want every range [%s]", tc.age, q, tc.window)
			}
		}
		if tc.window == "" && len(*queries) != 0 {
			t.Errorf("a step under a second old was queried: %v", *queries)
		}
		if tc.window != "" && len(*queries) == 0 {
			t.Errorf("step %s old: nothing queried", tc.age)
		}
	}
}

// TestErrorsAreNeverAPass: a Prometheus that fails a query, or cannot be
// reached, makes Analyse fail.
func TestErrorsAreNeverAPass(t *testing.T) {
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(map[string]any{"status": "error", "errorType": "bad_data", "error": "parse error at char 5"})
	}))
	defer failing.Close()
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()
	for name, url := range map[string]string{"query error": failing.URL, "unreachable": gone.URL} {
		api, _ := promgate.NewAPI(url)
		g, _ := promgate.New(api, promgate.Options{}, promgate.SuccessRate(99))
		v, err := g.Analyse(context.Background(), target)
		if err == nil {
			t.Errorf("%s: no error, verdict %s", name, v)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	api, _ := promgate.NewAPI(failing.URL)
	g, _ := promgate.New(api, promgate.Options{}, promgate.SuccessRate(99))
	if _, err := g.Analyse(ctx, target); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

func TestNewRefuses(t *testing.T) {
	api, _ := promgate.NewAPI("http://127.0.0.1:1")
	for name, f := range map[string]func() error{
		"no checks": func() error { _, err := promgate.New(api, promgate.Options{}); return err },
		"reporter": func() error {
			_, err := promgate.New(api, promgate.Options{Reporter: "client"}, promgate.SuccessRate(99))
			return err
		},
		"bad template": func() error {
			_, err := promgate.New(api, promgate.Options{}, promgate.Custom("x", "{{.Nope", "", 0, 1))
			return err
		},
		"no bound": func() error {
			_, err := promgate.New(api, promgate.Options{}, promgate.Check{Name: "x", Query: "up"})
			return err
		},
		"window": func() error {
			_, err := promgate.New(api, promgate.Options{Window: time.Millisecond}, promgate.SuccessRate(99))
			return err
		},
	} {
		if err := f(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestFromSLO: a model's objectives are the gate's checks, with the same
// bounds.
func TestFromSLO(t *testing.T) {
	checks := promgate.FromSLO(slo.Objective{Availability: 99.5, Latency: &slo.Latency{Quantile: 0.95, Bound: 250 * time.Millisecond}})
	if len(checks) != 2 || checks[0].Name != "success-rate" || *checks[0].Threshold != 99.5 || checks[1].Name != "latency-p95" || *checks[1].Threshold != 250 {
		t.Errorf("checks %+v", checks)
	}
	if got := promgate.FromSLO(slo.Objective{Latency: &slo.Latency{Quantile: 0.99, Bound: time.Second}}); len(got) != 1 || got[0].Name != "latency-p99" {
		t.Errorf("latency only: %+v", got)
	}
}
