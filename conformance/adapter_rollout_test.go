package conformance

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/mlmesh/mlmesh/internal/scenarios"
	"github.com/mlmesh/mlmesh/rollout"
	"github.com/mlmesh/mlmesh/rollout/promgate"
)

var rewriteGVK = schema.GroupVersionKind{Group: "inference.networking.x-k8s.io", Version: "v1alpha2", Kind: "InferenceModelRewrite"}

// TestAdapterRollout runs canaries between two revisions of qwen's
// adapter "summarize" (examples/llm-endpoint) through the Driver, on the
// kube-apiserver, judged by a real Prometheus scraping an exporter of the
// endpoint picker's metrics whose requests for "summarize" follow the
// live InferenceModelRewrite: every 200 ms the follower reads its weights
// and gives each revision its share of 40 requests a second. The gate
// counts a revision's requests and reads its success rate and time to
// first token from the picker's figures (the revisions share their pods),
// the latter held to the stable revision's plus 100 ms. A revision as fast
// as the stable one is promoted (the rewrite ends on it alone, both still
// loaded); one three times slower is rolled back (the rewrite back on the
// stable revision); each records in the adapter's own record.
func TestAdapterRollout(t *testing.T) {
	e := startRolloutEnv(t)
	var wg sync.WaitGroup
	for name, tc := range map[string]struct {
		ttft time.Duration
		want rollout.RunOutcome
		end  string
	}{
		"equal": {200 * time.Millisecond, rollout.Succeeded, "summarize-r2=100"},
		"slow":  {600 * time.Millisecond, rollout.RolledBack, "summarize-r1=100"},
	} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t.Run(name, func(t *testing.T) {
				ns := "adapter-" + name
				app := scenarios.LLMEndpoint()
				app.Namespace.Name = ns
				revs := app.Models[1].Adapters[0].Revisions
				revs[0].Weight, revs[1].Weight = 100, 0
				p, err := rollout.NewAdapterPlan(app, "qwen", "summarize", "summarize-r2", rollout.Strategy{Steps: []int32{10, 50}})
				if err != nil {
					t.Fatal(err)
				}
				stop := e.followRewrite(ns, map[string]time.Duration{"summarize-r1": 200 * time.Millisecond, "summarize-r2": tc.ttft})
				defer stop()
				api, err := promgate.NewAPI(e.prom.URL)
				if err != nil {
					t.Fatal(err)
				}
				gate, err := promgate.New(api, promgate.Options{Window: rolloutWindow, MinRequests: 5, Requests: promgate.RevisionRequests},
					promgate.RevisionSuccessRate(99), promgate.RevisionTimeToFirstToken(0.9, 5*time.Second).WithinOfStable(100).AtLeast(5))
				if err != nil {
					t.Fatal(err)
				}
				var events []string
				d := rollout.Driver{Client: dynamicClient(e.s), Gate: gate, Interval: rolloutInterval, Failures: 2, NoDataLimit: 3, SkipAvailability: true,
					Progress: func(ev rollout.Event) { events = append(events, ev.String()); t.Logf("%s: %s", ns, ev) }}
				rep, err := d.Run(context.Background(), p)
				if err != nil || rep.Outcome != tc.want {
					t.Fatalf("%s, %v, want %s; events:\n%s", rep.Outcome, err, tc.want, strings.Join(events, "\n"))
				}
				if got := liveRewrite(t, e, ns); got != tc.end {
					t.Errorf("the live rewrite after the rollout: %s, want %s", got, tc.end)
				}
				rec, found, err := rollout.AdapterStatus(context.Background(), dynamicClient(e.s), ns, "qwen", "summarize")
				if err != nil || !found || rec.Outcome != tc.want || len(rec.Verdicts) == 0 {
					t.Errorf("the adapter's record: %+v, %v, %v", rec, found, err)
				}
				if tc.want == rollout.RolledBack && !strings.Contains(strings.Join(events, "\n"), "(the stable version's 235 ms + 100 ms)") {
					t.Errorf("the slow revision was not judged on its time to first token:\n%s", strings.Join(events, "\n"))
				}
			})
		}()
	}
	wg.Wait()
}

// followRewrite gives the revisions of qwen's adapter in ns their share of
// 40 requests a second as the live rewrite splits them, each answering
// with its time to first token, until stopped.
func (e *rolloutEnv) followRewrite(ns string, ttft map[string]time.Duration) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		a := dynamicClient(e.s)
		for ctx.Err() == nil {
			shares := map[string]float64{}
			if u, err := a.Get(ctx, rewriteGVK, ns, "qwen-v1"); err == nil {
				shares = rewriteShares(u)
			}
			for rev, d := range ttft {
				e.exp.SetRevision(ns, "summarize", rev, RevisionFigures{RPS: 40 * shares[rev] / 100, TTFT: d, Duration: 4 * d})
			}
			select {
			case <-ctx.Done():
			case <-time.After(200 * time.Millisecond):
			}
		}
	}()
	return func() { cancel(); <-done }
}

// rewriteShares are the percent of the adapter's requests each revision
// gets by a rewrite's targets.
func rewriteShares(u *unstructured.Unstructured) map[string]float64 {
	out := map[string]float64{}
	rules, _, _ := unstructured.NestedSlice(u.Object, "spec", "rules")
	for _, r := range rules {
		targets, _, _ := unstructured.NestedSlice(r.(map[string]any), "targets")
		var total float64
		for _, tg := range targets {
			w, _, _ := unstructured.NestedInt64(tg.(map[string]any), "weight")
			total += float64(w)
		}
		for _, tg := range targets {
			m := tg.(map[string]any)
			w, _, _ := unstructured.NestedInt64(m, "weight")
			if name, _ := m["modelRewrite"].(string); total > 0 {
				out[name] = float64(w) * 100 / total
			}
		}
	}
	return out
}

func liveRewrite(t *testing.T, e *rolloutEnv, ns string) string {
	t.Helper()
	u, err := dynamicClient(e.s).Get(context.Background(), rewriteGVK, ns, "qwen-v1")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for name, share := range rewriteShares(u) {
		out = append(out, fmt.Sprintf("%s=%g", name, share))
	}
	return strings.Join(out, " ")
}
