package typeconv

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/kube-openapi/pkg/validation/spec"
)

// A custom resource's schema as the API server publishes it, with defaults
// at every depth, in list items, map values and the status.
const routeSchema = `{
  "type": "object",
  "x-kubernetes-group-version-kind": [{"group": "example.com", "version": "v1", "kind": "Route"}],
  "properties": {
    "apiVersion": {"type": "string"}, "kind": {"type": "string"},
    "metadata": {"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"},
    "spec": {"type": "object", "properties": {
      "mode": {"type": "string", "default": "Strict"},
      "replicas": {"type": "integer", "default": 1},
      "ratio": {"type": "number", "default": 1},
      "note": {"type": "string", "nullable": true, "default": "n"},
      "rules": {"type": "array", "items": {"type": "object", "properties": {
        "matches": {"type": "array", "default": [{"path": {"value": "/"}}], "items": {"type": "object", "properties": {
          "path": {"type": "object", "properties": {
            "type": {"type": "string", "default": "PathPrefix"},
            "value": {"type": "string"}}}}}},
        "backendRefs": {"type": "array", "items": {"type": "object", "properties": {
          "name": {"type": "string"},
          "kind": {"type": "string", "default": "Service"},
          "weight": {"type": "integer", "default": 1}}}}}}},
      "labels": {"type": "object", "additionalProperties": {"type": "object", "properties": {
        "scope": {"type": "string", "default": "pod"}}}}}},
    "status": {"type": "object", "default": {"phase": "Pending"}}
  }
}`

func routeModels(t *testing.T) map[string]*spec.Schema {
	t.Helper()
	var s spec.Schema
	if err := json.Unmarshal([]byte(routeSchema), &s); err != nil {
		t.Fatal(err)
	}
	return map[string]*spec.Schema{"com.example.v1.Route": &s}
}

func TestDefaultedSetsWhatTheServerSets(t *testing.T) {
	c := &Converter{defaults: customDefaults(routeModels(t))}
	in := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "example.com/v1", "kind": "Route",
		"metadata": map[string]any{"name": "r"},
		"spec": map[string]any{
			"mode": "Lax",
			"note": nil,
			"rules": []any{
				map[string]any{"backendRefs": []any{map[string]any{"name": "a"}, map[string]any{"name": "b", "weight": int64(9)}}},
				map[string]any{"matches": []any{map[string]any{"path": map[string]any{"value": "/v1"}}}},
			},
			"labels": map[string]any{"app": map[string]any{}},
		},
	}}
	before := in.DeepCopy()
	got := c.Defaulted(in)
	want := map[string]any{
		"apiVersion": "example.com/v1", "kind": "Route",
		"metadata": map[string]any{"name": "r"},
		"spec": map[string]any{
			"mode":     "Lax",      // set: kept
			"replicas": int64(1),   // integers as unstructured objects hold them
			"ratio":    float64(1), // a number stays one
			"note":     nil,        // null where null is allowed: kept
			"rules": []any{
				map[string]any{
					// A default's own contents are defaulted too.
					"matches":     []any{map[string]any{"path": map[string]any{"type": "PathPrefix", "value": "/"}}},
					"backendRefs": []any{map[string]any{"name": "a", "kind": "Service", "weight": int64(1)}, map[string]any{"name": "b", "kind": "Service", "weight": int64(9)}},
				},
				map[string]any{"matches": []any{map[string]any{"path": map[string]any{"type": "PathPrefix", "value": "/v1"}}}},
			},
			"labels": map[string]any{"app": map[string]any{"scope": "pod"}},
		},
		// No status: it is not applied.
	}
	if d := cmp.Diff(want, got.Object); d != "" {
		t.Errorf("defaulted (-want +got):\n%s", d)
	}
	if d := cmp.Diff(before.Object, in.Object); d != "" {
		t.Errorf("the object given was changed:\n%s", d)
	}

	// A status given is defaulted like the rest.
	in.Object["status"] = map[string]any{}
	if s := c.Defaulted(in).Object["status"]; s == nil {
		t.Error("a status given was dropped")
	}
}

func TestDefaultedLeavesKubernetesKindsAlone(t *testing.T) {
	models := routeModels(t)
	// The same schema, claimed by a kind of client-go's scheme: its
	// defaults are the server's code, not its published schema.
	models["com.example.v1.Route"].Extensions["x-kubernetes-group-version-kind"] = []any{map[string]any{"group": "apps", "version": "v1", "kind": "Deployment"}}
	c := &Converter{defaults: customDefaults(models)}
	in := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "spec": map[string]any{}}}
	if got := c.Defaulted(in); got != in {
		t.Errorf("a Deployment was defaulted: %v", got.Object)
	}
	if len(c.defaults) != 0 {
		t.Errorf("defaults kept for %v", c.defaults)
	}
	// A kind none of whose schema's defaults is outside its status.
	var s spec.Schema
	_ = json.Unmarshal([]byte(`{"type":"object","x-kubernetes-group-version-kind":[{"group":"example.com","version":"v1","kind":"Plain"}],"properties":{"spec":{"type":"object"},"status":{"type":"object","default":{}}}}`), &s)
	if d := customDefaults(map[string]*spec.Schema{"plain": &s}); d[schema.GroupVersionKind{Group: "example.com", Version: "v1", Kind: "Plain"}] != nil {
		t.Error("a kind with status defaults only is defaulted")
	}
}
