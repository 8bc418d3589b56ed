package rollout_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/yaml"

	"github.com/mlmesh/mlmesh/egress"
	"github.com/mlmesh/mlmesh/ingress"
	"github.com/mlmesh/mlmesh/mesh"
	"github.com/mlmesh/mlmesh/render"
	"github.com/mlmesh/mlmesh/rollout"
	"github.com/mlmesh/mlmesh/routing"
	"github.com/mlmesh/mlmesh/serving"
)

// weightsAt returns the model's VirtualService routes at a step: for each
// HTTP route, "subset=weight" of each destination, and the mirror.
func weightsAt(t *testing.T, s rollout.Step, model string) []string {
	t.Helper()
	for _, o := range s.Objects {
		vs, ok := o.(*networkingv1.VirtualService)
		if !ok || vs.Name != model {
			continue
		}
		var out []string
		for _, h := range vs.Spec.Http {
			var parts []string
			if len(h.Match) > 0 && len(h.Match[0].Headers) > 0 {
				parts = append(parts, "match")
			}
			for _, d := range h.Route {
				parts = append(parts, d.Destination.Subset+"="+itoa(d.Weight))
			}
			if h.Mirror != nil {
				parts = append(parts, "mirror:"+h.Mirror.Subset)
			}
			for _, m := range h.Mirrors {
				parts = append(parts, "mirror:"+m.Destination.Subset)
			}
			out = append(out, strings.Join(parts, " "))
		}
		return out
	}
	t.Fatalf("step %s has no VirtualService %s", s.Name(), model)
	return nil
}

func itoa(i int32) string {
	b := []byte{}
	if i == 0 {
		return "0"
	}
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}

func TestPlanSteps(t *testing.T) {
	app := algorithmSelector() // 70/30 as written; the plan starts from 100/0
	before, err := mesh.Build(app)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := render.YAML(before)
	p, err := rollout.NewPlan(app, "algo-selector", "v2", rollout.Strategy{Steps: []int32{10, 30, 50, 100}})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range p.Steps {
		names = append(names, s.Name())
	}
	if got := strings.Join(names, " "); got != "00-baseline 01-canary-10 02-canary-30 03-canary-50 04-promoted 05-retired" {
		t.Errorf("steps: %s", got)
	}
	// The model is routed on two ports (gRPC and REST), each rule repeated.
	for i, want := range [][]string{
		{"v1=100 v2=0"}, {"v1=90 v2=10"}, {"v1=70 v2=30"}, {"v1=50 v2=50"}, {"v1=0 v2=100"}, {"v2=100"},
	} {
		got := weightsAt(t, p.Steps[i], "algo-selector")
		for _, g := range got {
			if g != want[0] {
				t.Errorf("step %s routes %q, want %q", p.Steps[i].Name(), got, want)
				break
			}
		}
	}
	retired := p.Steps[5]
	for _, o := range retired.Objects {
		if o.GetName() == "algo-selector-v1" {
			t.Errorf("the retired step still has %s", render.Describe(o))
		}
	}
	if p.Steps[0].Analysed() || !p.Steps[1].Analysed() || p.Steps[4].Analysed() {
		t.Error("only the canary steps are analysed")
	}
	after, _ := render.YAML(mustBuild(t, app))
	if string(after) != string(want) {
		t.Error("NewPlan changed the App it was given")
	}
	if s := p.String(); !strings.Contains(s, "01-canary-10     canary: v2 10%, v1 90% (analysed)") || !strings.Contains(s, "05-retired") {
		t.Errorf("plan text:\n%s", s)
	}
}

func mustBuild(t *testing.T, app mesh.App) []render.Object {
	t.Helper()
	objs, err := mesh.Build(app)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// fraud is a two-version model behind a header rule that pins v1 for one
// client and a default split.
func fraud() mesh.App {
	return mesh.App{Namespace: mesh.Namespace{Name: "ml"}, Models: []mesh.Model{{
		Model: serving.Model{Name: "fraud", Versions: []serving.Version{{Name: "v1", ModelURI: "s3://m/1"}, {Name: "v2", ModelURI: "s3://m/2"}}},
		Traffic: mesh.Traffic{Port: 8501, Rules: []routing.Rule{
			{Name: "pinned-v2", Match: []routing.Match{{Headers: map[string]routing.StringMatch{"x-model-version": routing.Exact("v2")}}}, Split: []routing.Destination{{Subset: "v2"}}},
			{Split: routing.SplitOf(map[string]int32{"v1": 90, "v2": 10})},
		}},
	}}}
}

func TestPlanPreviewAndShadow(t *testing.T) {
	p, err := rollout.NewPlan(fraud(), "fraud", "v2", rollout.Strategy{
		Preview:       &routing.Match{Headers: map[string]routing.StringMatch{"x-canary": routing.Exact("always")}},
		ShadowPercent: 20,
		StepWeight:    25, MaxWeight: 50,
	})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	var names []string
	for _, s := range p.Steps {
		names = append(names, s.Name())
		got[s.Name()] = weightsAt(t, s, "fraud")
	}
	want := map[string][]string{
		"00-baseline":  {"match v2=100", "v1=100 v2=0"},
		"01-preview":   {"match v2=100", "match v2=100", "v1=100 v2=0"},
		"02-shadow":    {"match v2=100", "v1=100 v2=0 mirror:v2"},
		"03-canary-25": {"match v2=100", "v1=75 v2=25"},
		"04-canary-50": {"match v2=100", "v1=50 v2=50"},
		"05-promoted":  {"match v2=100", "v1=0 v2=100"},
		"06-retired":   {"match v2=100", "v2=100"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("routes by step (-want +got):\n%s", d)
	}
	if !strings.Contains(p.Steps[1].String(), `header x-canary exact "always"`) {
		t.Errorf("preview step: %s", p.Steps[1])
	}
}

// TestPlanMovesAreSafe: every move between consecutive steps, and the
// rollback from every step to the baseline, is make-before-break.
func TestPlanMovesAreSafe(t *testing.T) {
	p, err := rollout.NewPlan(fraud(), "fraud", "v2", rollout.Strategy{ShadowPercent: 10,
		Preview: &routing.Match{Headers: map[string]routing.StringMatch{"x-canary": routing.Exact("1")}}})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(p.Steps); i++ {
		checkMove(t, p.Steps[i-1], p.Steps[i])
		if p.Steps[i].Analysed() {
			checkMove(t, p.Steps[i], p.Steps[0])
		}
	}
}

func TestPlanErrors(t *testing.T) {
	threeVersions := fraud()
	threeVersions.Models[0].Versions = append(threeVersions.Models[0].Versions, serving.Version{Name: "v3", ModelURI: "s3://m/3"})
	pinnedV1 := fraud()
	pinnedV1.Models[0].Traffic.Rules[0].Split = []routing.Destination{{Subset: "v1", Weight: 50}, {Subset: "v3", Weight: 50}}
	pinnedV1.Models[0].Versions = threeVersions.Models[0].Versions
	for _, tc := range []struct {
		name       string
		app        mesh.App
		model, can string
		s          rollout.Strategy
		want       []string
	}{
		{"no such model", fraud(), "fruad", "v2", rollout.Strategy{}, []string{`model: "fruad" not found`}},
		{"no such candidate", fraud(), "fraud", "v9", rollout.Strategy{}, []string{`models[0].versions: "v9" not found`}},
		{"stable unclear", threeVersions, "fraud", "v2", rollout.Strategy{}, []string{"stable: required: the model has 2 versions besides the candidate (v1, v3)"}},
		{"steps", fraud(), "fraud", "v2", rollout.Strategy{Steps: []int32{10, 10, 100, 0}}, []string{
			`steps[1]: invalid value "10": steps must rise: 10 follows 10`, `steps[2]: invalid value "100": 100 is the promotion`, `steps[3]: invalid value "0": a weight is a percentage from 1 to 100`}},
		{"both ways", fraud(), "fraud", "v2", rollout.Strategy{Steps: []int32{10}, StepWeight: 5}, []string{"stepWeight: Forbidden: give either steps or stepWeight and maxWeight"}},
		{"max below step", fraud(), "fraud", "v2", rollout.Strategy{StepWeight: 60, MaxWeight: 50}, []string{`maxWeight: invalid value "50": is below the first step (60)`}},
		{"shadow", fraud(), "fraud", "v2", rollout.Strategy{ShadowPercent: 120}, []string{`shadowPercent: invalid value "120"`}},
		{"negative bake", fraud(), "fraud", "v2", rollout.Strategy{RetireAfter: -time.Minute}, []string{`retireAfter: invalid value "-1m0s": must not be negative`}},
		{"bake, nothing retired", fraud(), "fraud", "v2", rollout.Strategy{RetireAfter: time.Minute, KeepStable: true}, []string{`retireAfter: invalid value "1m0s": nothing is retired with keepStable`}},
		{"preview matching all", fraud(), "fraud", "v2", rollout.Strategy{Preview: &routing.Match{}}, []string{"preview.headers: required"}},
		{"nothing to weight", fraud(), "fraud", "v1", rollout.Strategy{Stable: "v2"}, nil},
		{"half-routed rule", pinnedV1, "fraud", "v2", rollout.Strategy{Stable: "v1"}, []string{"models[0].traffic.rules[0].split: invalid value \"v1\": routes to the stable version beside others"}},
	} {
		_, err := rollout.NewPlan(tc.app, tc.model, tc.can, tc.s)
		if tc.want == nil {
			// v2 is the stable one here and the pinned rule routes to it alone:
			// that rule is weighted, and the plan is valid.
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
			continue
		}
		var ve *rollout.ValidationError
		if !errors.As(err, &ve) {
			t.Errorf("%s: want a *rollout.ValidationError, got %v", tc.name, err)
			continue
		}
		var fe *field.Error
		if !errors.As(err, &fe) {
			t.Errorf("%s: does not unwrap to *field.Error", tc.name)
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s:\n got  %v\n want %s", tc.name, err, w)
			}
		}
	}
}

func TestPlanWriteDir(t *testing.T) {
	p, err := rollout.NewPlan(fraud(), "fraud", "v2", rollout.Strategy{Steps: []int32{50}})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	dirs, err := p.WriteDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) != len(p.Steps) || filepath.Base(dirs[1]) != "01-canary-50" {
		t.Fatalf("directories %v", dirs)
	}
	for i, d := range dirs {
		files, _ := filepath.Glob(filepath.Join(d, "*.yaml"))
		if len(files) != len(p.Steps[i].Objects)+1 {
			t.Errorf("%s: %d files for %d objects and the record", d, len(files), len(p.Steps[i].Objects))
		}
		// The record says where the rollout stands at this step.
		rec, err := recordIn(d)
		if err != nil {
			t.Fatal(err)
		}
		want := rollout.Record{Namespace: "ml", Model: "fraud", Stable: "v1", Candidate: "v2", Digest: rec.Digest, At: p.Steps[i].Name()}
		if i == len(dirs)-1 {
			want.Outcome = rollout.Succeeded
		}
		if rec.Digest == "" || !reflect.DeepEqual(rec, want) {
			t.Errorf("%s: record %+v", d, rec)
		}
	}
	b, err := os.ReadFile(filepath.Join(dirs[1], "006-virtualservice-ml-fraud.yaml"))
	if err != nil {
		entries, _ := os.ReadDir(dirs[1])
		t.Fatalf("%v (have %v)", err, entries)
	}
	if !strings.Contains(string(b), "weight: 50") {
		t.Errorf("canary-50's VirtualService:\n%s", b)
	}
}

// algorithmSelector is a 70/30 canary of a model behind a gateway, with an
// egress to its model store: the shape of the seeds' algorithm selector.
func algorithmSelector() mesh.App {
	return mesh.App{
		Namespace: mesh.Namespace{Name: "algorithm-selector"},
		Egress:    []egress.Spec{egress.S3("featurestore-s3", "", "us-east-1", "algorithm-selector-features")},
		Gateways:  []ingress.Spec{{Name: "algorithm-selector-gateway", Servers: []ingress.Server{{Port: 31400, Hosts: []string{"*"}}}}},
		Models: []mesh.Model{{
			Model: serving.Model{Name: "algo-selector", Versions: []serving.Version{
				{Name: "v1", ModelURI: "s3://algorithm-selector-models/algo-selector/1"},
				{Name: "v2", ModelURI: "s3://algorithm-selector-models/algo-selector/2"},
			}},
			Traffic: mesh.Traffic{Rules: []routing.Rule{{
				Split:   routing.SplitOf(map[string]int32{"v1": 70, "v2": 30}),
				Timeout: 10 * time.Second,
				Retries: &routing.Retries{Attempts: 1, RetryOn: []string{"connect-failure", "refused-stream"}},
			}}},
			Expose: &mesh.Expose{Gateway: "algorithm-selector-gateway"},
		}},
	}
}

// TestStrategyWeightsErrors: a stepWeight above the default maxWeight is
// reported at stepWeight, naming the default it is above; a maxWeight the
// user wrote below the first step, at maxWeight.
func TestStrategyWeightsErrors(t *testing.T) {
	for _, tc := range []struct {
		s    rollout.Strategy
		want string
	}{
		{rollout.Strategy{StepWeight: 60}, `stepWeight: invalid value "60": is above maxWeight's default, 50`},
		{rollout.Strategy{StepWeight: 30, MaxWeight: 20}, `maxWeight: invalid value "20": is below the first step (30)`},
		{rollout.Strategy{MaxWeight: 5}, `maxWeight: invalid value "5": is below the first step (10)`},
	} {
		_, err := rollout.NewPlan(fraud(), "fraud", "v2", tc.s)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), `maxWeight: invalid value "0"`) {
			t.Errorf("%+v: %v, want %q", tc.s, err, tc.want)
		}
	}
}

// recordIn reads the rollout record a step's directory holds.
func recordIn(dir string) (rollout.Record, error) {
	files, _ := filepath.Glob(filepath.Join(dir, "*-configmap-ml-fraud-rollout.yaml"))
	if len(files) != 1 {
		return rollout.Record{}, fmt.Errorf("%s: record files %v", dir, files)
	}
	b, err := os.ReadFile(files[0])
	if err != nil {
		return rollout.Record{}, err
	}
	var cm corev1.ConfigMap
	if err := yaml.Unmarshal(b, &cm); err != nil {
		return rollout.Record{}, err
	}
	var rec rollout.Record
	err = json.Unmarshal([]byte(cm.Data["record.json"]), &rec)
	return rec, err
}
