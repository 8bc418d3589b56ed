package rollout_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/mlmesh/mlmesh/apply"
	"github.com/mlmesh/mlmesh/apply/applytest"
	"github.com/mlmesh/mlmesh/internal/scenarios"
	"github.com/mlmesh/mlmesh/mesh"
	"github.com/mlmesh/mlmesh/render"
	"github.com/mlmesh/mlmesh/rollout"
	"github.com/mlmesh/mlmesh/routing"
)

// adapterApp is the LLM endpoint with qwen's adapter "summarize" on its
// stable revision alone (r1 100%, r2 loaded, 0%).
func adapterApp() mesh.App {
	app := scenarios.LLMEndpoint()
	revs := app.Models[1].Adapters[0].Revisions
	revs[0].Weight, revs[1].Weight = 100, 0
	return app
}

// rewriteWeights reads the live rewrite of qwen's pool: "r1=90 r2=10".
func rewriteWeights(t *testing.T, c *applytest.Cluster) string {
	t.Helper()
	u, err := c.Get(context.Background(), schema.GroupVersionKind{Group: "inference.networking.x-k8s.io", Version: "v1alpha2", Kind: "InferenceModelRewrite"}, "llm", "qwen-v1")
	if err != nil {
		t.Fatal(err)
	}
	rules, _, _ := unstructured.NestedSlice(u.Object, "spec", "rules")
	var out []string
	for _, r := range rules {
		targets, _, _ := unstructured.NestedSlice(r.(map[string]any), "targets")
		for _, tg := range targets {
			m := tg.(map[string]any)
			out = append(out, fmt.Sprintf("%v=%v", m["modelRewrite"], m["weight"]))
		}
	}
	return strings.Join(out, " ")
}

// TestAdapterPlan: a canary between an adapter's revisions moves only the
// pool's rewrite, step by step, and ends at the promotion with both
// revisions loaded; its record is the adapter's own.
func TestAdapterPlan(t *testing.T) {
	p, err := rollout.NewAdapterPlan(adapterApp(), "qwen", "summarize", "summarize-r2", rollout.Strategy{Steps: []int32{10, 50}})
	if err != nil {
		t.Fatal(err)
	}
	var steps []string
	for _, s := range p.Steps {
		steps = append(steps, s.Name()+" "+fmt.Sprint(s.Weights()["summarize-r1"], "/", s.Weights()["summarize-r2"]))
	}
	if got := strings.Join(steps, ", "); got != "00-baseline 100/0, 01-canary-10 90/10, 02-canary-50 50/50, 03-promoted 0/100" {
		t.Errorf("steps: %s", got)
	}
	// Between two steps only the rewrite changes: no pod restarts.
	changed := map[string]bool{}
	for i, o := range p.Steps[1].Objects {
		a, _ := render.MarshalYAML(o)
		b, _ := render.MarshalYAML(p.Steps[2].Objects[i])
		if string(a) != string(b) {
			changed[o.GetObjectKind().GroupVersionKind().Kind+"/"+o.GetName()] = true
		}
	}
	if fmt.Sprint(changed) != "map[InferenceModelRewrite/qwen-v1:true]" {
		t.Errorf("between 10%% and 50%% these change: %v", changed)
	}

	c := applytest.NewServerSideCluster(nil)
	var events []string
	var seen []string
	d := driver(c, rollout.GateFunc(func(_ context.Context, tg rollout.Target) (rollout.Verdict, error) {
		seen = append(seen, tg.Stable+">"+tg.Candidate+"@"+tg.CandidateWorkload+":"+rewriteWeights(t, c))
		return rollout.Verdict{Result: rollout.Pass}, nil
	}), &events)
	rep, err := d.Run(context.Background(), p)
	if err != nil || rep.Outcome != rollout.Succeeded {
		t.Fatalf("%s, %v\n%s", rep.Outcome, err, strings.Join(events, "\n"))
	}
	if got := strings.Join(seen, "; "); got != "summarize-r1>summarize-r2@qwen-v1:summarize-r1=90 summarize-r2=10; summarize-r1>summarize-r2@qwen-v1:summarize-r1=50 summarize-r2=50" {
		t.Errorf("the gate saw: %s", got)
	}
	if got := rewriteWeights(t, c); got != "summarize-r2=100" {
		t.Errorf("after the promotion: %s", got)
	}
	rec, found, err := rollout.AdapterStatus(context.Background(), c, "llm", "qwen", "summarize")
	if err != nil || !found || rec.Outcome != rollout.Succeeded || rec.Adapter != "summarize" {
		t.Errorf("the adapter's record: %+v %v %v", rec, found, err)
	}
	if _, found, _ := rollout.Status(context.Background(), c, "llm", "qwen"); found {
		t.Error("the adapter's rollout wrote the model's record")
	}
	// Run again: it resumes at the promotion, and changes nothing.
	live, _ := apply.Managed(context.Background(), c, "llm")
	if i, found, err := p.Locate(live); err != nil || !found || i != 3 {
		t.Errorf("Locate after the promotion: %d %v %v", i, found, err)
	}
}

// TestAdapterPlanRefuses: each bad adapter plan is refused at its field.
func TestAdapterPlanRefuses(t *testing.T) {
	for _, tc := range []struct {
		name             string
		app              func() mesh.App
		adapter, revison string
		s                rollout.Strategy
		want             string
	}{
		{"no such adapter", adapterApp, "summarise", "summarize-r2", rollout.Strategy{}, `models[1].adapters: "summarise" not found`},
		{"no such revision", adapterApp, "summarize", "summarize-r3", rollout.Strategy{}, `models[1].adapters[0].revisions: "summarize-r3" not found`},
		{"an adapter without revisions", adapterApp, "support", "support", rollout.Strategy{}, "models[0].adapters[0].revisions: required"},
		{"no pools", func() mesh.App { a := adapterApp(); a.Models[1].Inference = nil; return a }, "summarize", "summarize-r2", rollout.Strategy{},
			"models[1].inference: required"},
		{"a preview", adapterApp, "summarize", "summarize-r2", rollout.Strategy{Preview: &routing.Match{Headers: map[string]routing.StringMatch{"x": routing.Exact("y")}}},
			"preview: Forbidden: an adapter's canary splits its requests between revisions"},
		{"a bake", adapterApp, "summarize", "summarize-r2", rollout.Strategy{RetireAfter: 1}, "retireAfter: Forbidden: an adapter's rollout ends at the promotion"},
	} {
		_, err := rollout.NewAdapterPlan(tc.app(), "qwen", tc.adapter, tc.revison, tc.s)
		if tc.adapter == "support" {
			_, err = rollout.NewAdapterPlan(tc.app(), "chat", tc.adapter, tc.revison, tc.s)
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
	if got := rollout.AdapterRecordName("qwen", "summarize"); got != "qwen-summarize-rollout" {
		t.Errorf("AdapterRecordName: %s", got)
	}
	if got := rollout.AdapterRecordName("qwen", "Team/Summarize"); !strings.HasPrefix(got, "qwen-team-summarize-") || !strings.HasSuffix(got, "-rollout") {
		t.Errorf("AdapterRecordName of a hub-style name: %s", got)
	}
}
