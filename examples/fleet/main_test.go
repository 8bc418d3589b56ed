package main

import (
	"bytes"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/mlmesh/mlmesh/mesh"
	"github.com/mlmesh/mlmesh/render"
	"github.com/mlmesh/mlmesh/render/rendertest"
)

// TestGolden compares two models of the fleet, in each dialect, with the
// golden files that the conformance suite checks (fleet.golden.yaml,
// fleet.gateway.golden.yaml, fleet.ambient.golden.yaml).
func TestGolden(t *testing.T) {
	for api, file := range map[string]string{"istio": "fleet", "gateway": "fleet.gateway", "ambient": "fleet.ambient"} {
		var out bytes.Buffer
		if err := run(&out, []string{"-models", "2", "-api", api}); err != nil {
			t.Fatal(err)
		}
		rendertest.GoldenBytes(t, out.Bytes(), "testdata/"+file+".golden.yaml")
	}
}

// TestObjects checks the anchors' object list: 5N+2 objects.
func TestObjects(t *testing.T) {
	var out bytes.Buffer
	if err := run(&out, []string{"-models", "50"}); err != nil {
		t.Fatal(err)
	}
	if docs := strings.Count(out.String(), "\n---\n") + 1; docs != 5*50+2 {
		t.Errorf("%d objects, want %d", docs, 5*50+2)
	}
}

// TestStreamEqualsBuild: the streamed fleet is byte for byte what building
// all objects and rendering them gives.
func TestStreamEqualsBuild(t *testing.T) {
	objs, err := mesh.Build(Fleet(50))
	if err != nil {
		t.Fatal(err)
	}
	want, err := render.YAML(objs)
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	if err := run(&got, []string{"-models", "50"}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(want, got.Bytes()) {
		t.Error("the streamed fleet differs from render.YAML(mesh.Build(...))")
	}
}

// TestInputUntouched: Fleet shares one Traffic and Expose between models,
// which is sound only because building and rendering never write to the
// App they are given.
func TestInputUntouched(t *testing.T) {
	app, pristine := Fleet(20), Fleet(20)
	if _, err := mesh.Build(app); err != nil {
		t.Fatal(err)
	}
	if err := mesh.Render(io.Discard, app); err != nil {
		t.Fatal(err)
	}
	for _, a := range []mesh.App{app, pristine} {
		for i := range a.Models {
			rt := &a.Models[i].Runtime
			rt.Args, rt.ReadinessPath = nil, nil // funcs: never DeepEqual
		}
	}
	if !reflect.DeepEqual(app, pristine) {
		t.Error("building or rendering changed the App")
	}
}
