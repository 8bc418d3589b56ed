package render

import "github.com/mlmesh/mlmesh/internal/canon"

// CanonicalNormalize applies the canonical form's documented differences
// from the reference encodings to a parsed document, ours or the
// reference's (canon.Normalize).
func CanonicalNormalize(doc any, ours bool) any { return canon.Normalize(doc, ours) }
