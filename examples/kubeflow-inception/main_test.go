package main

import (
	"bytes"
	"testing"

	"github.com/mlmesh/mlmesh/render/rendertest"
)

func TestGolden(t *testing.T) {
	var out bytes.Buffer
	if err := run(&out); err != nil {
		t.Fatal(err)
	}
	rendertest.GoldenBytes(t, out.Bytes(), "testdata/kubeflow-inception.golden.yaml")
}
