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
