package promgate

import (
	"strconv"
	"strings"
	"time"
)

// LLMServer is the metric names an LLM server exports, which its checks
// (TimeToFirstToken, InterTokenLatency, QueueDepth, KVCacheUse) read from
// the version's pods, as Prometheus labels what it scrapes from them:
// namespace, and pod <model>-<version>-<replica set>-<id>. The dashboards
// of package observe read the same names.
type LLMServer struct {
	// Name is the runtime's name (serving.Runtime.Name): "vllm", "sglang".
	Name string
	// TTFT and ITL are the histograms (without _bucket) of the time to
	// first token and between tokens, in seconds.
	TTFT, ITL string
	// Running and Waiting are the gauges of requests being generated and
	// queued.
	Running, Waiting string
	// KVCache is the gauge of the KV cache's use, a fraction.
	KVCache string
	// Tokens is the counter of tokens generated.
	Tokens string
}

// The LLM servers' metric names: vLLM's (v0.10 on) and SGLang's.
var (
	VLLM = LLMServer{Name: "vllm", TTFT: "vllm:time_to_first_token_seconds", ITL: "vllm:inter_token_latency_seconds",
		Running: "vllm:num_requests_running", Waiting: "vllm:num_requests_waiting", KVCache: "vllm:kv_cache_usage_perc",
		Tokens: "vllm:generation_tokens_total"}
	SGLang = LLMServer{Name: "sglang", TTFT: "sglang:time_to_first_token_seconds", ITL: "sglang:inter_token_latency_seconds",
		Running: "sglang:num_running_reqs", Waiting: "sglang:num_queue_reqs", KVCache: "sglang:token_usage",
		Tokens: "sglang:generation_tokens_total"}
)

// LLMServerOf returns the metric names of the runtime named name
// (serving.Runtime.Name), if it is an LLM server mlmesh knows.
func LLMServerOf(name string) (LLMServer, bool) {
	for _, s := range []LLMServer{VLLM, SGLang} {
		if s.Name == name {
			return s, true
		}
	}
	return LLMServer{}, false
}

// PodSelector is the label matcher of a version's pods, in a Check's
// template: the pods of its Deployment, by name.
const PodSelector = `namespace="{{.Namespace}}",pod=~"{{.Workload}}-[a-z0-9]+-[a-z0-9]+"{{.Labels}}`

// TimeToFirstToken is the version's time to first token at quantile, from
// the server's histogram, in milliseconds, at most max. It counts the
// requests the histogram saw as its samples: give it AtLeast(n) to judge
// only on n of them.
func (s LLMServer) TimeToFirstToken(quantile float64, max time.Duration) Check {
	return histogramLatency("ttft", s.TTFT, PodSelector, quantile, max)
}

// InterTokenLatency is the version's time between generated tokens at
// quantile, in milliseconds, at most max; samples as TimeToFirstToken.
func (s LLMServer) InterTokenLatency(quantile float64, max time.Duration) Check {
	return histogramLatency("itl", s.ITL, PodSelector, quantile, max)
}

// histogramLatency is a seconds histogram's quantile, in milliseconds, at
// most max, over the series selector picks; its samples are the
// histogram's count.
func histogramLatency(short, metric, selector string, quantile float64, max time.Duration) Check {
	q := strconv.FormatFloat(quantile, 'f', -1, 64)
	return Check{
		Name:    short + "-p" + strings.TrimPrefix(strconv.FormatFloat(quantile*100, 'f', -1, 64), "0."),
		Query:   `histogram_quantile(` + q + `, sum(rate(` + metric + `_bucket{` + selector + `}[{{.Window}}])) by (le)) * 1000`,
		Samples: `sum(increase(` + metric + `_count{` + selector + `}[{{.Window}}]))`,
		Unit:    "ms", Better: LowerIsBetter, Threshold: Bound(float64(max) / float64(time.Millisecond)),
	}
}

// QueueDepth is the requests waiting in the version's servers, on average
// per pod over the window, at most max.
func (s LLMServer) QueueDepth(max float64) Check {
	return Check{
		Name:  "queue-depth",
		Query: `avg(avg_over_time(` + s.Waiting + `{` + PodSelector + `}[{{.Window}}]))`,
		Unit:  "requests", Better: LowerIsBetter, Threshold: Bound(max),
	}
}

// KVCacheUse is the share of the version's KV cache in use, on average
// over its pods and the window, in percent, at most max.
func (s LLMServer) KVCacheUse(max float64) Check {
	return Check{
		Name:  "kv-cache",
		Query: `avg(avg_over_time(` + s.KVCache + `{` + PodSelector + `}[{{.Window}}])) * 100`,
		Unit:  "%", Better: LowerIsBetter, Threshold: Bound(max),
	}
}

// An adapter's revisions are served by the same pods, so the servers'
// figures cannot tell them apart; the endpoint picker's can: it reports
// each request by the model the client asked for (model_name) and the
// one it was sent as (target_model_name, a revision after an
// InferenceModelRewrite). These checks read the Inference Extension v1.5
// picker's metrics of the candidate revision ({{.Version}}); give the gate
// RevisionRequests as Options.Requests to count its requests alike.

// RevisionSelector is the label matcher of a revision's requests in the
// endpoint picker's metrics.
const RevisionSelector = `namespace="{{.Namespace}}",target_model_name="{{.Version}}"{{.Labels}}`

// RevisionRequests is the Options.Requests of a gate of an adapter's
// revisions: the requests the endpoint picker sent as the revision.
const RevisionRequests = `sum(increase(inference_objective_request_total{` + RevisionSelector + `}[{{.Window}}]))`

// RevisionTimeToFirstToken is the revision's time to first token at
// quantile, in milliseconds, at most max, from the endpoint picker's
// histogram (which its latency-predicting scorer records).
func RevisionTimeToFirstToken(quantile float64, max time.Duration) Check {
	return histogramLatency("ttft", "inference_objective_request_ttft_seconds", RevisionSelector, quantile, max)
}

// RevisionLatency is the revision's request duration at quantile, in
// milliseconds, at most max, from the endpoint picker's histogram.
func RevisionLatency(quantile float64, max time.Duration) Check {
	return histogramLatency("latency", "inference_objective_request_duration_seconds", RevisionSelector, quantile, max)
}

// RevisionSuccessRate is the share of the revision's requests the
// endpoint picker saw end without an error, in percent, at least min.
func RevisionSuccessRate(min float64) Check {
	return Check{
		Name: "success-rate",
		Query: `(1 - (sum(rate(inference_objective_request_error_total{` + RevisionSelector + `}[{{.Window}}])) or vector(0))` +
			` / sum(rate(inference_objective_request_total{` + RevisionSelector + `}[{{.Window}}]))) * 100`,
		Unit: "%", Better: HigherIsBetter, Threshold: Bound(min),
	}
}
