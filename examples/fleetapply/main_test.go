package main

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/mlmesh/mlmesh/mesh"
	"github.com/mlmesh/mlmesh/render"
)

// TestFleet: the applied fleet is the printed one, in its namespace, which
// it creates, and -v2 moves model-0's split alone.
func TestFleet(t *testing.T) {
	objs, err := mesh.Build(fleet(3, "bench", 50))
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 5*3+2+1 {
		t.Errorf("%d objects, want the fleet's 17 and its Namespace", len(objs))
	}
	var routes []string
	for _, o := range objs {
		if o.GetNamespace() != "bench" && o.GetObjectKind().GroupVersionKind().Kind != "Namespace" {
			t.Errorf("%s/%s in namespace %q", o.GetObjectKind().GroupVersionKind().Kind, o.GetName(), o.GetNamespace())
		}
		if o.GetObjectKind().GroupVersionKind().Kind == "VirtualService" {
			routes = append(routes, o.GetName())
			y, err := render.MarshalYAML(o)
			if err != nil {
				t.Fatal(err)
			}
			if half := strings.Count(string(y), "weight: 50"); half != 2 && o.GetName() == "model-0" || half != 0 && o.GetName() != "model-0" {
				t.Errorf("%s:\n%s", o.GetName(), y)
			}
		}
	}
	if len(routes) != 3 {
		t.Errorf("routes %v", routes)
	}
}

// TestBadFlags: a weight out of range is refused before any cluster is
// reached.
func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{{"-v2", "101"}, {"-models", "0"}} {
		if err := run(context.Background(), io.Discard, args); err == nil || !strings.Contains(err.Error(), args[0]) {
			t.Errorf("%v: %v", args, err)
		}
	}
}
