package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlmesh/mlmesh/render"
	"github.com/mlmesh/mlmesh/render/rendertest"
)

// TestGolden holds each step of the example's plan to its golden file,
// which the conformance suite checks against Istio's validation, analyzers
// and config generator and a real API server, and the -plan output to its
// own.
func TestGolden(t *testing.T) {
	o, err := parse([]string{"-plan"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := newPlan(o)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range p.Steps {
		y, err := render.YAML(s.Objects)
		if err != nil {
			t.Fatal(err)
		}
		rendertest.GoldenBytes(t, y, filepath.Join("testdata", "progressive-"+s.Name()+".golden.yaml"))
	}
	var out bytes.Buffer
	code, err := run(context.Background(), &out, []string{"-plan"})
	if err != nil || code != exitPromoted {
		t.Fatalf("-plan: exit %d, %v", code, err)
	}
	rendertest.GoldenBytes(t, out.Bytes(), filepath.Join("testdata", "plan.golden.txt"))
}

func TestFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "-prometheus: required"},
		{[]string{"-plan", "-steps", "10,x"}, `-steps: "x" is not a weight`},
		{[]string{"-plan", "-steps", "50,10"}, "steps[1]: invalid value \"10\": steps must rise"},
	} {
		code, err := run(context.Background(), &bytes.Buffer{}, tc.args)
		if err == nil || code != exitError || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: exit %d, %v; want %q", tc.args, code, err, tc.want)
		}
	}
}
