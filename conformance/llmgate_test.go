package conformance

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/mlmesh/mlmesh/rollout"
	"github.com/mlmesh/mlmesh/rollout/promgate"
)

// TestLLMGates runs the LLM gates against a real Prometheus scraping the
// exporter's vLLM and SGLang metric names: two versions of a model, the
// candidate as fast to first token as the stable version in one namespace
// and three times slower in another. Held to the stable version's time
// to first token plus 100 ms on at least 20 samples, with bounds on the
// queue and the KV cache, rollout.Evaluate passes the equal candidate and
// fails the slow one, for both servers. Negative controls: the slow one
// passes a gate with only a loose absolute bound (the relative check is
// what catches it), and a gate asking for more samples than there are
// says no data.
func TestLLMGates(t *testing.T) {
	exp, err := StartIstioExporter()
	if err != nil {
		t.Fatal(err)
	}
	defer exp.Close()
	prom, err := StartPrometheusWith(exp.Addr, PrometheusOptions{Interval: 200 * time.Millisecond})
	if err != nil {
		if os.Getenv("MLMESH_REQUIRE_APISERVER") == "" {
			t.Skipf("no Prometheus: %v", err)
		}
		t.Fatal(err)
	}
	defer prom.Close()
	fast, slow := 200*time.Millisecond, 600*time.Millisecond
	for _, server := range []bool{false, true} {
		for ns, ttft := range map[string]time.Duration{"equal": fast, "slow": slow} {
			ns := fmt.Sprintf("%s-%v", ns, server)
			exp.SetReporter(ns, promgate.ReporterDestination)
			for v, d := range map[string]time.Duration{"v1": fast, "v2": ttft} {
				exp.Set(ns, "chat", v, Traffic{RPS: 20, Latency: d})
				exp.SetLLM(ns, "chat", v, LLMFigures{Running: 3, Waiting: 1, KVCache: 0.4, TokensPerSec: 200, RPS: 20, TTFT: d, ITL: 20 * time.Millisecond, SGLang: server})
			}
		}
	}
	waitScraped(t, prom)
	time.Sleep(4 * time.Second) // some twenty scrapes
	api, err := promgate.NewAPI(prom.URL)
	if err != nil {
		t.Fatal(err)
	}
	evaluate := func(ns string, checks ...promgate.Check) rollout.Verdict {
		t.Helper()
		g, err := promgate.New(api, promgate.Options{Window: 3 * time.Second, MinRequests: 5}, checks...)
		if err != nil {
			t.Fatal(err)
		}
		v, err := rollout.Evaluate(context.Background(), g, rollout.Target{Namespace: ns, Model: "chat", Stable: "v1", Candidate: "v2"})
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, s := range []promgate.LLMServer{promgate.VLLM, promgate.SGLang} {
		sglang := s.Name == "sglang"
		gate := []promgate.Check{s.TimeToFirstToken(0.9, 5*time.Second).WithinOfStable(100).AtLeast(20), s.QueueDepth(4), s.KVCacheUse(90)}
		if v := evaluate(fmt.Sprintf("equal-%v", sglang), gate...); v.Result != rollout.Pass {
			t.Errorf("%s: the equal candidate: %s", s.Name, v)
		}
		v := evaluate(fmt.Sprintf("slow-%v", sglang), gate...)
		if v.Result != rollout.Fail || !strings.Contains(v.String(), "(the stable version's 235 ms + 100 ms)") || !strings.Contains(v.String(), "ttft-p90 950 ms (fail") {
			t.Errorf("%s: the slow candidate: %s", s.Name, v)
		}
		t.Logf("%s: %s", s.Name, v)
		if v := evaluate(fmt.Sprintf("slow-%v", sglang), s.TimeToFirstToken(0.9, 5*time.Second)); v.Result != rollout.Pass {
			t.Errorf("%s: the slow candidate under a loose absolute bound only: %s", s.Name, v)
		}
		if v := evaluate(fmt.Sprintf("slow-%v", sglang), s.TimeToFirstToken(0.9, 5*time.Second).WithinOfStable(100).AtLeast(1e6)); v.Result != rollout.NoData {
			t.Errorf("%s: a million samples asked for: %s", s.Name, v)
		}
	}
}
