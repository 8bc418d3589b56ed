package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlmesh/mlmesh/render/rendertest"
)

// TestGolden pins the printed objects of one scenario, and checks that
// -out writes a dashboard per model and the rule file.
func TestGolden(t *testing.T) {
	var out bytes.Buffer
	if err := run(&out, []string{"-scenario", "tfserving-canary"}); err != nil {
		t.Fatal(err)
	}
	rendertest.GoldenBytes(t, out.Bytes(), filepath.Join("testdata", "tfserving-canary.golden.yaml"))
	dir := t.TempDir()
	if err := run(&out, []string{"-scenario", "multi-model", "-api", "ambient", "-out", dir}); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	var names []string
	for _, f := range files {
		names = append(names, filepath.Base(f))
	}
	if len(names) < 3 || !strings.Contains(strings.Join(names, " "), "rules.yaml") {
		t.Errorf("-out wrote %v", names)
	}
	rules, _ := os.ReadFile(filepath.Join(dir, "rules.yaml"))
	if !strings.Contains(string(rules), `reporter=\"waypoint\"`) && !strings.Contains(string(rules), `reporter="waypoint"`) {
		t.Errorf("ambient rules do not read the waypoint's reports:\n%.400s", rules)
	}
}

func TestFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "-scenario: required"},
		{[]string{"-scenario", "nope"}, `no scenario "nope"`},
		{[]string{"-scenario", "llm", "-latency-p99", "300ms"}, `models[0].slo.latency.bound: invalid value "300ms"`},
		{[]string{"-scenario", "llm", "-availability", "100"}, `models[0].slo.availability: invalid value "100"`},
	} {
		if err := run(&bytes.Buffer{}, tc.args); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want %q", tc.args, err, tc.want)
		}
	}
}
