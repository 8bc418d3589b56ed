package promgate_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mlmesh/mlmesh/rollout"
	"github.com/mlmesh/mlmesh/rollout/promgate"
)

// llmFigures answers the Istio request count (120), and each version's
// vLLM time to first token (ms) and its sample count.
func llmFigures(ttftV2, ttftV1, samplesV2, samplesV1 float64) func(string) (float64, bool) {
	return func(q string) (float64, bool) {
		v2 := strings.Contains(q, `fraud-v2`)
		pick := func(a, b float64) float64 {
			if v2 {
				return a
			}
			return b
		}
		switch {
		case strings.Contains(q, "istio_requests_total"):
			return 120, v2
		case strings.Contains(q, "vllm:time_to_first_token_seconds_count"):
			return pick(samplesV2, samplesV1), true
		case strings.Contains(q, "vllm:time_to_first_token_seconds_bucket"):
			return pick(ttftV2, ttftV1), true
		}
		return 0, false
	}
}

// TestLLMGates: a time to first token held to a bound, to the stable
// version's plus a margin or a share, and judged only on enough samples of
// both versions.
func TestLLMGates(t *testing.T) {
	ttft := promgate.VLLM.TimeToFirstToken(0.9, 2*time.Second)
	for _, tc := range []struct {
		name   string
		answer func(string) (float64, bool)
		check  promgate.Check
		want   rollout.Conclusion
		detail string
	}{
		{"under the bound", llmFigures(300, 280, 100, 100), ttft, rollout.Pass, "300 ms <= 2000 ms (threshold)"},
		{"over the bound", llmFigures(2500, 280, 100, 100), ttft, rollout.Fail, "2500 ms > 2000 ms (threshold)"},
		{"within a margin of the stable version", llmFigures(320, 280, 100, 100), ttft.WithinOfStable(50), rollout.Pass, "320 ms <= 330 ms (the stable version's 280 ms + 50 ms)"},
		{"beyond the margin", llmFigures(400, 280, 100, 100), ttft.WithinOfStable(50), rollout.Fail, "400 ms > 330 ms (the stable version's 280 ms + 50 ms)"},
		{"the stricter of margin and share", llmFigures(330, 280, 100, 100), ttft.WithinOfStable(100).RelativeToStable(0.1), rollout.Fail, "330 ms > 308 ms (the stable version's 280 ms + 10%)"},
		{"too few samples of the candidate", llmFigures(900, 280, 12, 100), ttft.WithinOfStable(50).AtLeast(20), rollout.NoData, "12 samples of fraud-v2 in 1m, fewer than the 20 needed"},
		{"too few of the stable version", llmFigures(900, 280, 100, 3), ttft.WithinOfStable(50).AtLeast(20), rollout.NoData, "3 samples of fraud-v1"},
		{"enough samples", llmFigures(900, 280, 100, 100), ttft.WithinOfStable(50).AtLeast(20), rollout.Fail, "900 ms > 330 ms"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url, _ := fakeAPI(t, tc.answer)
			api, err := promgate.NewAPI(url)
			if err != nil {
				t.Fatal(err)
			}
			g, err := promgate.New(api, promgate.Options{}, tc.check)
			if err != nil {
				t.Fatal(err)
			}
			v, err := g.Analyse(context.Background(), target)
			if err != nil {
				t.Fatal(err)
			}
			if v.Result != tc.want || !strings.Contains(v.String(), tc.detail) {
				t.Errorf("%s, want %s with %q: %s", v.Result, tc.want, tc.detail, v)
			}
		})
	}
}

// TestLLMQueries: each server's checks read its own metric names from the
// version's pods.
func TestLLMQueries(t *testing.T) {
	for _, tc := range []struct {
		check promgate.Check
		want  string
	}{
		{promgate.VLLM.TimeToFirstToken(0.99, time.Second), `histogram_quantile(0.99, sum(rate(vllm:time_to_first_token_seconds_bucket{namespace="{{.Namespace}}",pod=~"{{.Workload}}-[a-z0-9]+-[a-z0-9]+"{{.Labels}}}[{{.Window}}])) by (le)) * 1000`},
		{promgate.SGLang.InterTokenLatency(0.9, time.Second), `histogram_quantile(0.9, sum(rate(sglang:inter_token_latency_seconds_bucket{`},
		{promgate.VLLM.QueueDepth(4), `avg(avg_over_time(vllm:num_requests_waiting{`},
		{promgate.SGLang.QueueDepth(4), `avg(avg_over_time(sglang:num_queue_reqs{`},
		{promgate.VLLM.KVCacheUse(90), `avg(avg_over_time(vllm:kv_cache_usage_perc{`},
		{promgate.SGLang.KVCacheUse(90), `avg(avg_over_time(sglang:token_usage{`},
	} {
		if !strings.HasPrefix(tc.check.Query, tc.want) {
			t.Errorf("%s: %s, want it to start %s", tc.check.Name, tc.check.Query, tc.want)
		}
	}
	if s, ok := promgate.LLMServerOf("sglang"); !ok || s.Waiting != "sglang:num_queue_reqs" {
		t.Errorf("LLMServerOf(sglang) = %+v, %v", s, ok)
	}
	if _, ok := promgate.LLMServerOf("tfserving"); ok {
		t.Error("TF Serving is not an LLM server")
	}
}

// TestEvaluate: a gate judged on its own, the workloads filled in from the
// versions; a target without a candidate is refused.
func TestEvaluate(t *testing.T) {
	url, queries := fakeAPI(t, llmFigures(300, 280, 100, 100))
	api, err := promgate.NewAPI(url)
	if err != nil {
		t.Fatal(err)
	}
	g, err := promgate.New(api, promgate.Options{}, promgate.VLLM.TimeToFirstToken(0.9, time.Second).WithinOfStable(50))
	if err != nil {
		t.Fatal(err)
	}
	v, err := rollout.Evaluate(context.Background(), g, rollout.Target{Namespace: "ml", Model: "fraud", Stable: "v1", Candidate: "v2"})
	if err != nil || v.Result != rollout.Pass {
		t.Fatalf("%s, %v", v, err)
	}
	if all := strings.Join(*queries, "\n"); !strings.Contains(all, `pod=~"fraud-v2-`) || !strings.Contains(all, `pod=~"fraud-v1-`) {
		t.Errorf("the queries do not name both versions' pods:\n%s", all)
	}
	if _, err := rollout.Evaluate(context.Background(), g, rollout.Target{Namespace: "ml", Model: "fraud"}); err == nil || !strings.Contains(err.Error(), "no Candidate") {
		t.Errorf("a target without a candidate: %v", err)
	}
}

// TestRevisionGates: an adapter's revisions are told apart by the
// endpoint picker's target_model_name, and their requests counted there
// (Options.Requests), not by the pods they share.
func TestRevisionGates(t *testing.T) {
	url, queries := fakeAPI(t, func(q string) (float64, bool) {
		r2 := strings.Contains(q, `target_model_name="summarize-r2"`)
		switch {
		case strings.HasPrefix(q, "sum(increase(inference_objective_request_total"):
			return 3, r2
		case strings.Contains(q, "inference_objective_request_ttft_seconds_bucket"):
			return 235, true
		}
		return 0, false
	})
	api, err := promgate.NewAPI(url)
	if err != nil {
		t.Fatal(err)
	}
	g, err := promgate.New(api, promgate.Options{Requests: promgate.RevisionRequests}, promgate.RevisionTimeToFirstToken(0.9, time.Second))
	if err != nil {
		t.Fatal(err)
	}
	rt := rollout.Target{Namespace: "llm", Model: "qwen", Stable: "summarize-r1", Candidate: "summarize-r2", StableWorkload: "qwen-v1", CandidateWorkload: "qwen-v1"}
	v, err := g.Analyse(context.Background(), rt)
	if err != nil {
		t.Fatal(err)
	}
	if v.Result != rollout.NoData || !strings.Contains(v.String(), "3 requests to summarize-r2 in 1m") {
		t.Errorf("3 requests of the revision: %s", v)
	}
	if all := strings.Join(*queries, "\n"); strings.Contains(all, "istio_requests_total") {
		t.Errorf("the revision's requests were counted by the pods':\n%s", all)
	}
	if _, err := promgate.New(api, promgate.Options{Requests: "sum({{.Window"}, promgate.RevisionSuccessRate(99)); err == nil || !strings.Contains(err.Error(), "Options.Requests") {
		t.Errorf("a Requests template that does not parse: %v", err)
	}
}

// TestLabels: a global Prometheus's cluster label is a matcher of every
// query of the gate; a name Prometheus would refuse is refused.
func TestLabels(t *testing.T) {
	url, queries := fakeAPI(t, llmFigures(300, 280, 100, 100))
	api, err := promgate.NewAPI(url)
	if err != nil {
		t.Fatal(err)
	}
	g, err := promgate.New(api, promgate.Options{Labels: map[string]string{"cluster": "eu-1"}},
		promgate.SuccessRate(99), promgate.VLLM.TimeToFirstToken(0.9, time.Second).WithinOfStable(50).AtLeast(5))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.Analyse(context.Background(), target); err != nil {
		t.Fatal(err)
	}
	for _, q := range *queries {
		if strings.Count(q, `,cluster="eu-1"`) != strings.Count(q, "{") {
			t.Errorf("a query without the cluster: %s", q)
		}
	}
	if len(*queries) < 4 {
		t.Errorf("%d queries", len(*queries))
	}
	if _, err := promgate.New(api, promgate.Options{Labels: map[string]string{"clus-ter": "x"}}, promgate.SuccessRate(99)); err == nil {
		t.Error("a label name with a dash was accepted")
	}
}
