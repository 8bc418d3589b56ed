package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlmesh/mlmesh/render/rendertest"
)

// TestOutputs: the printed manifests are the golden files the conformance
// suite checks (internal/scenarios writes them), the canary's plan is its
// own golden file, and -api istio is refused at the field.
func TestOutputs(t *testing.T) {
	for args, golden := range map[string]string{"": "llm-endpoint.golden.yaml", "-api ambient": "llm-endpoint.ambient.golden.yaml", "-canary -plan": "canary-plan.golden.txt"} {
		var out bytes.Buffer
		if code, err := run(context.Background(), &out, strings.Fields(args)); err != nil || code != 0 {
			t.Fatalf("%q: exit %d, %v", args, code, err)
		}
		rendertest.GoldenBytes(t, out.Bytes(), filepath.Join("testdata", golden))
	}
	for _, tc := range []struct{ args, want string }{
		{"-api istio", "endpoints[0]: invalid value \"llm\": the body-based router is an ext_proc filter on a Gateway of the endpoint's own: needs api: gateway"},
		{"-canary", "-canary: -prometheus is required"},
	} {
		code, err := run(context.Background(), &bytes.Buffer{}, strings.Fields(tc.args))
		if code != 1 || err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: exit %d, %v; want %q", tc.args, code, err, tc.want)
		}
	}
}
