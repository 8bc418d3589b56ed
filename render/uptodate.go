package render

import (
	"bytes"
	"context"
	"encoding/json"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
	"sigs.k8s.io/structured-merge-diff/v6/typed"
)

// Schemas is an optional capability of an Applier that is a Lister: the
// API server's schemas of the given group-versions, as managed-fields'
// TypeConverter. With it, Apply and Transition send nothing for an object
// whose live state already holds, owned by the field manager, exactly the
// fields wanted with the values wanted (see ApplyOptions.SendAll). The
// adapters implement it when given the server's OpenAPI v3 client.
type Schemas interface {
	TypeConverter(ctx context.Context, gvs []schema.GroupVersion) (managedfields.TypeConverter, error)
}

// untracked are the fields server-side apply never records as managed, as
// the API server's field manager strips them (managedfields' stripmeta).
var untracked = fieldpath.NewSet(
	fieldpath.MakePathOrDie("apiVersion"),
	fieldpath.MakePathOrDie("kind"),
	fieldpath.MakePathOrDie("metadata"),
	fieldpath.MakePathOrDie("metadata", "name"),
	fieldpath.MakePathOrDie("metadata", "namespace"),
	fieldpath.MakePathOrDie("metadata", "creationTimestamp"),
	fieldpath.MakePathOrDie("metadata", "selfLink"),
	fieldpath.MakePathOrDie("metadata", "uid"),
	fieldpath.MakePathOrDie("metadata", "clusterName"),
	fieldpath.MakePathOrDie("metadata", "generation"),
	fieldpath.MakePathOrDie("metadata", "managedFields"),
	fieldpath.MakePathOrDie("metadata", "resourceVersion"),
)

// upToDate reports whether applying want as manager would change nothing
// on live: manager's last apply owns exactly the fields want sets, and live
// holds want's values in all of them. It is the comparison server-side
// apply itself makes, through managed fields' typed values: the fields of
// want extracted from the live object (as client-go's Extract functions do
// with the owned set, which is the same set here) against want. Any doubt
// (no apply entry, a field another manager took, a value changed or
// defaulted differently, a type the schema does not know) answers false,
// and the object is sent.
func upToDate(tc managedfields.TypeConverter, live, want *unstructured.Unstructured, manager string) bool {
	fields, ok := appliedFields(live, manager)
	if !ok {
		return false
	}
	ownedSet := &fieldpath.Set{}
	if err := ownedSet.FromJSON(bytes.NewReader(fields)); err != nil {
		return false
	}
	wantTyped, err := tc.ObjectToTyped(want, typed.AllowDuplicates)
	if err != nil {
		return false
	}
	wantSet, err := wantTyped.ToFieldSet()
	if err != nil {
		return false
	}
	if !wantSet.Difference(untracked).Leaves().Equals(ownedSet.Leaves()) {
		return false // a field added, dropped, or taken by another manager
	}
	liveTyped, err := tc.ObjectToTyped(ownable(live), typed.AllowDuplicates)
	if err != nil {
		return false
	}
	// want holds exactly its own leaves: those owned, and its kind and name.
	cmp, err := liveTyped.ExtractItems(wantSet.Leaves()).Compare(wantTyped)
	return err == nil && cmp.IsSame()
}

// appliedFields returns the fieldsV1 of manager's apply entry on live, read
// from the map itself: unstructured's GetManagedFields converts every
// entry to typed ones through JSON, which cost more than the comparison.
func appliedFields(live *unstructured.Unstructured, manager string) ([]byte, bool) {
	md, _ := live.Object["metadata"].(map[string]any)
	entries, _ := md["managedFields"].([]any)
	for _, e := range entries {
		m, _ := e.(map[string]any)
		if m["manager"] != manager || m["operation"] != string(metav1.ManagedFieldsOperationApply) {
			continue
		}
		if sub, _ := m["subresource"].(string); sub != "" {
			continue
		}
		if m["fieldsType"] != "FieldsV1" || m["fieldsV1"] == nil {
			return nil, false
		}
		b, err := json.Marshal(m["fieldsV1"])
		return b, err == nil
	}
	return nil, false
}

// ownable is live without what no apply owns and the comparison never
// reads, its status and managed fields, which are most of a stored
// Deployment: converting them to typed values would be most of the cost.
// It shares everything else with live.
func ownable(live *unstructured.Unstructured) *unstructured.Unstructured {
	obj := make(map[string]any, len(live.Object))
	for k, v := range live.Object {
		if k != "status" {
			obj[k] = v
		}
	}
	if md, ok := live.Object["metadata"].(map[string]any); ok {
		m := make(map[string]any, len(md))
		for k, v := range md {
			if k != "managedFields" {
				m[k] = v
			}
		}
		obj["metadata"] = m
	}
	return &unstructured.Unstructured{Object: obj}
}
