package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRun: the stream names each cluster before its objects; -out writes a
// directory per cluster.
func TestRun(t *testing.T) {
	var out bytes.Buffer
	if err := run(&out, nil); err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"# cluster canary\n", "# cluster eu-1\n", "# cluster us-1\n"} {
		if !strings.Contains(out.String(), c) {
			t.Errorf("no %q", c)
		}
	}
	dir := t.TempDir()
	out.Reset()
	if err := run(&out, []string{"-out", dir}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"canary", "eu-1", "us-1"} {
		if files, err := os.ReadDir(filepath.Join(dir, c)); err != nil || len(files) == 0 {
			t.Errorf("%s: %d files, %v", c, len(files), err)
		}
	}
}

// TestKustomizeAndKubeconfigs: -kustomize writes the base and an overlay
// per cluster; -kubeconfigs needs one file per cluster.
func TestKustomizeAndKubeconfigs(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	if err := run(&out, []string{"-kustomize", dir}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"base/kustomization.yaml", "overlays/eu-1/kustomization.yaml", "overlays/canary/kustomization.yaml"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			t.Error(err)
		}
	}
	if err := run(&out, []string{"-kubeconfigs", "a.yaml,b.yaml"}); err == nil || !strings.Contains(err.Error(), "2 files for 3 clusters") {
		t.Errorf("two kubeconfigs: %v", err)
	}
}
