package typeconv

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/kube-openapi/pkg/validation/spec"
)

// Converter is a TypeConverter that also knows the defaults of custom
// resources' schemas (Defaulted, which package apply looks for). The API
// server sets them on every custom resource it stores, inside atomic lists too (an HTTPRoute's
// parentRefs and rules): a comparison with the object as applied would see
// them as changes, and send it every time, where the server would store it
// unchanged. Kubernetes' own kinds are defaulted by the server's code, not
// by their published schemas, and are left alone.
type Converter struct {
	managedfields.TypeConverter
	defaults map[schema.GroupVersionKind]*spec.Schema
}

// Defaulted returns obj with the defaults its kind's schema declares set
// where obj has no value; obj itself when its kind declares none. It never
// changes obj.
func (c *Converter) Defaulted(obj *unstructured.Unstructured) *unstructured.Unstructured {
	s := c.defaults[obj.GroupVersionKind()]
	if s == nil {
		return obj
	}
	out := obj.DeepCopy()
	_, hadStatus := out.Object["status"]
	applyDefaults(out.Object, s)
	if !hadStatus {
		// The status is not applied: what its schema defaults (a
		// Gateway's pending conditions) is the status subresource's.
		delete(out.Object, "status")
	}
	return out
}

// customDefaults returns the schemas of the custom resources among models
// that declare a default anywhere.
func customDefaults(models map[string]*spec.Schema) map[schema.GroupVersionKind]*spec.Schema {
	out := map[schema.GroupVersionKind]*spec.Schema{}
	for _, m := range models {
		for _, gvk := range kindsOf(m) {
			if !scheme.Scheme.Recognizes(gvk) && specDefaults(m) {
				out[gvk] = m
			}
		}
	}
	return out
}

// kindsOf reads a model's x-kubernetes-group-version-kind.
func kindsOf(m *spec.Schema) []schema.GroupVersionKind {
	list, _ := m.Extensions["x-kubernetes-group-version-kind"].([]any)
	var out []schema.GroupVersionKind
	for _, e := range list {
		g, _ := e.(map[string]any)
		group, _ := g["group"].(string)
		version, _ := g["version"].(string)
		kind, _ := g["kind"].(string)
		if version != "" && kind != "" {
			out = append(out, schema.GroupVersionKind{Group: group, Version: version, Kind: kind})
		}
	}
	return out
}

// specDefaults reports whether a kind's schema declares a default outside
// its status.
func specDefaults(m *spec.Schema) bool {
	for k, p := range m.Properties {
		if k != "status" && hasDefault(&p) {
			return true
		}
	}
	return false
}

// hasDefault reports whether s or a schema inside it declares a default.
// Custom resources' schemas are inline (only their metadata is a $ref, to
// ObjectMeta, which declares none).
func hasDefault(s *spec.Schema) bool {
	if s == nil {
		return false
	}
	if s.Default != nil {
		return true
	}
	for _, p := range s.Properties {
		if hasDefault(&p) {
			return true
		}
	}
	if s.Items != nil && hasDefault(s.Items.Schema) {
		return true
	}
	return s.AdditionalProperties != nil && hasDefault(s.AdditionalProperties.Schema)
}

// applyDefaults sets, in x, the defaults s declares, as the API server's
// structural defaulting of custom resources does: a property absent (or
// null where it may not be) takes its default, and then every property,
// list item and map value is defaulted by its own schema, defaults
// included.
func applyDefaults(x any, s *spec.Schema) {
	if s == nil {
		return
	}
	switch x := x.(type) {
	case map[string]any:
		for k, p := range s.Properties {
			if p.Default == nil {
				continue
			}
			if v, ok := x[k]; !ok || (v == nil && !p.Nullable) {
				x[k] = jsonValue(p.Default, &p)
			}
		}
		for k, v := range x {
			if p, ok := s.Properties[k]; ok {
				applyDefaults(v, &p)
			} else if s.AdditionalProperties != nil {
				applyDefaults(v, s.AdditionalProperties.Schema)
			}
		}
	case []any:
		if s.Items != nil {
			for _, v := range x {
				applyDefaults(v, s.Items.Schema)
			}
		}
	}
}

// jsonValue returns a copy of a default as unstructured objects hold it:
// integers as int64 (a schema's JSON reads them as float64).
func jsonValue(v any, s *spec.Schema) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			var p *spec.Schema
			if s != nil {
				if ps, ok := s.Properties[k]; ok {
					p = &ps
				} else if s.AdditionalProperties != nil {
					p = s.AdditionalProperties.Schema
				}
			}
			out[k] = jsonValue(e, p)
		}
		return out
	case []any:
		out := make([]any, len(v))
		var items *spec.Schema
		if s != nil && s.Items != nil {
			items = s.Items.Schema
		}
		for i, e := range v {
			out[i] = jsonValue(e, items)
		}
		return out
	case float64:
		if s != nil && s.Type.Contains("integer") && v == float64(int64(v)) {
			return int64(v)
		}
		return v
	case int:
		return int64(v)
	}
	return v
}
