package main

import (
	"bytes"
	"testing"

	"github.com/mlmesh/mlmesh/render/rendertest"
)

func TestGolden(t *testing.T) {
	for _, tc := range []struct {
		args   []string
		golden string
	}{
		{nil, "testdata/algorithm-selector.golden.yaml"},
		{[]string{"-promote"}, "testdata/algorithm-selector-promoted.golden.yaml"},
	} {
		var out bytes.Buffer
		if err := run(&out, tc.args); err != nil {
			t.Fatal(err)
		}
		rendertest.GoldenBytes(t, out.Bytes(), tc.golden)
	}
}
