package observe_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/mlmesh/mlmesh/apply/applytest"
	"github.com/mlmesh/mlmesh/internal/scenarios"
	"github.com/mlmesh/mlmesh/observe"
	"github.com/mlmesh/mlmesh/rollout"
)

// chartedRollout runs a rollout of the algorithm-selector's v2 that passes
// at 10% and fails at 50%, on a clock that moves 10 s per sleep, and
// returns its record.
func chartedRollout(t *testing.T) rollout.Record {
	t.Helper()
	p, err := rollout.NewPlan(scenarios.AlgorithmSelector(false, ""), "algo-selector", "v2", rollout.Strategy{Steps: []int32{10, 50}})
	if err != nil {
		t.Fatal(err)
	}
	c := applytest.NewServerSideCluster(nil)
	c.Default = func(u *unstructured.Unstructured) {
		if u.GetKind() == "Deployment" {
			_ = unstructured.SetNestedSlice(u.Object, []any{map[string]any{"type": "Available", "status": "True"}}, "status", "conditions")
		}
	}
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	gate := rollout.GateFunc(func(_ context.Context, tg rollout.Target) (rollout.Verdict, error) {
		if tg.Step.Weight == 50 {
			return rollout.Verdict{Result: rollout.Fail}, nil
		}
		return rollout.Verdict{Result: rollout.Pass}, nil
	})
	d := rollout.Driver{Client: c, Gate: gate, Now: func() time.Time { return now },
		Sleep: func(context.Context, time.Duration) error { now = now.Add(10 * time.Second); return nil }}
	if rep, err := d.Run(context.Background(), p); err != nil || rep.Outcome != rollout.RolledBack {
		t.Fatalf("%s, %v", rep.Outcome, err)
	}
	rec, _, err := rollout.Status(context.Background(), c, p.Namespace, p.Model)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// TestRolloutChart checks the chart's series as the record gives them:
// the weights as step functions through each move, a mark per move and per
// verdict at the candidate's weight then, and the SVG's legend.
func TestRolloutChart(t *testing.T) {
	rec := chartedRollout(t)
	c := observe.NewRolloutChart(rec)
	if c.Title != "algorithm-selector/algo-selector: v1 → v2 (rolled back)" {
		t.Errorf("title %q", c.Title)
	}
	values := func(s observe.Series) []float64 {
		var out []float64
		for _, p := range s.Points {
			out = append(out, p.Value)
		}
		return out
	}
	if len(c.Weights) != 2 || c.Weights[0].Version != "v1" || c.Weights[1].Version != "v2" {
		t.Fatalf("weights %+v", c.Weights)
	}
	// baseline, 10, 50, back to the baseline; each move held to the next.
	if got, want := values(c.Weights[1]), []float64{0, 0, 10, 10, 50, 50, 0}; !equal(got, want) {
		t.Errorf("v2's weights %v, want %v", got, want)
	}
	if got, want := values(c.Weights[0]), []float64{100, 100, 90, 90, 50, 50, 100}; !equal(got, want) {
		t.Errorf("v1's weights %v, want %v", got, want)
	}
	var steps, verdicts []string
	for _, m := range c.Steps {
		steps = append(steps, m.Label)
	}
	for _, m := range c.Verdicts {
		verdicts = append(verdicts, string(m.Conclusion)+"@"+strings.Fields(m.Label)[0])
		if m.Value != 10 && m.Value != 50 {
			t.Errorf("verdict %q marked at weight %g", m.Label, m.Value)
		}
	}
	if got := strings.Join(steps, " "); got != "00-baseline 01-canary-10 02-canary-50 00-baseline" {
		t.Errorf("steps %s", got)
	}
	if got := strings.Join(verdicts, " "); got != "pass@01-canary-10 fail@02-canary-50" {
		t.Errorf("verdicts %s", got)
	}
	if !c.Start.Equal(rec.Moves[0].Time) || c.End.Before(rec.Moves[len(rec.Moves)-1].Time) {
		t.Errorf("time axis %v to %v, moves %v to %v", c.Start, c.End, rec.Moves[0].Time, rec.Moves[len(rec.Moves)-1].Time)
	}

	// The figures underneath, as Query would fill them, with a gap.
	at := func(s int) time.Time { return c.Start.Add(time.Duration(s) * time.Second) }
	c.Success = []observe.Series{
		{Version: "v1", Points: []observe.Point{{at(0), 100}, {at(5), 100}, {at(10), 100}}},
		{Version: "v2", Points: []observe.Point{{at(10), 100}, {at(15), 100}, {at(30), 80}, {at(35), 80}}},
	}
	c.Latency = []observe.Series{{Version: "v1", Points: []observe.Point{{at(0), 20}}}, {Version: "v2"}}
	c.LatencyQuantile, c.MinSuccess = 0.99, 99
	var b bytes.Buffer
	if err := c.WriteSVG(&b); err != nil {
		t.Fatal(err)
	}
	texts := svgTexts(t, b.Bytes())
	for _, want := range []string{c.Title, "v1", "v2", "analysis: pass", "analysis: fail", "canary-10", "canary-50", "baseline", "success rate (%)", "latency p99 (ms)", "gate: 99"} {
		if !strings.Contains(texts, "|"+want+"|") {
			t.Errorf("the SVG does not say %q; its texts: %s", want, texts)
		}
	}
}

// svgTexts are the texts of an SVG document, each between bars; it fails
// on a document that does not parse.
func svgTexts(t *testing.T, svg []byte) string {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(svg))
	var out strings.Builder
	out.WriteString("|")
	inText := false
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("the SVG does not parse: %v", err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			inText = tok.Name.Local == "text"
		case xml.CharData:
			if inText {
				out.WriteString(string(tok) + "|")
			}
		case xml.EndElement:
			inText = false
		}
	}
	return out.String()
}

func equal(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestRolloutChartRefusesAnEmptyRecord: a record without moves (a rollout
// written by Plan.WriteDir, or none) has no time to chart.
func TestRolloutChartRefusesAnEmptyRecord(t *testing.T) {
	c := observe.NewRolloutChart(rollout.Record{Namespace: "ml", Model: "fraud", Stable: "v1", Candidate: "v2"})
	if err := c.WriteSVG(io.Discard); err == nil || !strings.Contains(err.Error(), "no moves recorded") {
		t.Errorf("WriteSVG: %v", err)
	}
	if err := c.Query(context.Background(), nil, observe.ChartQuery{}); err == nil || !strings.Contains(err.Error(), "no moves recorded") {
		t.Errorf("Query: %v", err)
	}
}
