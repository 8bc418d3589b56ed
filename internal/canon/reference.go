package canon

import "google.golang.org/protobuf/reflect/protoreflect"

// Normalize applies to a parsed document (sigs.k8s.io/yaml.Unmarshal into
// an any) the documented differences between the canonical form and the
// reference encodings (encoding/json, protojson), so that tests can hold
// the one to the other: ours tells which side doc is. The differences come
// from the encoder's own tables (serverMetadata, alwaysWritten,
// weightedDestinations).
func Normalize(doc any, ours bool) any { return normalize(doc, 0, ours, "") }

// normalize applies the canonical form's documented differences
// to either side: no status, no metadata the API server fills in
// (serverMetadata), no null, empty map or empty list; and, on our side
// only (ours), no zero that the canonical form writes on purpose: a
// weighted destination's weight 0, a ServiceEntry's location and
// resolution, a retry policy's attempts, a Sidecar's outbound mode
// (alwaysWritten). A weight 0 is dropped on both sides: encoding/json
// writes one too, for Kubernetes' weights (an affinity term's), which
// have no omitempty.
func normalize(v any, depth int, ours bool, parent string) any {
	switch v := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, x := range v {
			if depth == 0 && k == "status" || parent == "metadata" && serverMetadata[k] {
				continue
			}
			if ours && canonicalZero(k, x) || k == "weight" && x == float64(0) {
				continue
			}
			if n := normalize(x, depth+1, ours, k); n != nil {
				out[k] = n
			}
		}
		if len(out) == 0 {
			return nil
		}
		return out
	case []any:
		if len(v) == 0 {
			return nil
		}
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = normalize(x, depth+1, ours, parent)
			if out[i] == nil {
				out[i] = map[string]any{}
			}
		}
		return out
	}
	return v
}

// canonicalZero reports a zero value the canonical form writes and the
// reference leaves out: the fields of alwaysWritten, at their zero.
func canonicalZero(k string, x any) bool {
	zero := x == float64(0) || x == "MESH_EXTERNAL" || x == "NONE" || x == "REGISTRY_ONLY"
	if !zero {
		return false
	}
	for _, fields := range alwaysWritten {
		if fields[protoreflect.Name(k)] {
			return true
		}
	}
	return false
}
