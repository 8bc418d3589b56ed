package render

// CanonicalNormalize is referenceNormalize for the external tests: it
// applies the canonical form's documented differences from the reference
// encodings to a parsed document, ours or the reference's.
func CanonicalNormalize(doc any, ours bool) any { return referenceNormalize(doc, 0, ours, "") }
