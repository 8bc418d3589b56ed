package rollout

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/mlmesh/mlmesh/apply"
	"github.com/mlmesh/mlmesh/internal/labels"
	"github.com/mlmesh/mlmesh/mesh"
	"github.com/mlmesh/mlmesh/names"
	"github.com/mlmesh/mlmesh/render"
)

// Record is a rollout's memory, kept in the cluster beside the model (a
// ConfigMap, RecordName(model), key "record.json", applied by the Driver's
// Client like every other object): what the driver decided and why,
// written before it acts. A run resumes from it, so failed analyses
// survive a restart, a candidate that was rolled back is not canaried
// again as it is, and a rollout whose record says it failed is never
// promoted. Status reads it for a registry's UI.
type Record struct {
	Namespace, Model string
	// Adapter is the adapter rolled out, for a canary between its
	// revisions (NewAdapterPlan; its record is AdapterRecordName's);
	// Stable and Candidate are then revisions.
	Adapter           string `json:",omitempty"`
	Stable, Candidate string
	// Digest identifies the candidate: a hash of its pods' template
	// (image, model, arguments, environment, resources), so that a
	// candidate changed since it was rolled back is a new candidate, and
	// one changed under a running rollout starts over from the baseline.
	Digest string
	// At is the step the cluster was last moved to; Moving is the step a
	// move under way goes to (empty when none is).
	At, Moving string
	// Since is when the cluster reached At: an analysis looks no further
	// back, and the bake time before retirement counts from it.
	Since time.Time `json:",omitzero"`
	// Failures counts the failed analyses of the rollout, across runs
	// (a candidate whose pods were not Available in time counts too).
	Failures int
	// Errors counts the analyses in a row that could not be made (the
	// metrics backend unreachable, a query refused), across runs;
	// Driver.ErrorLimit of them roll the rollout back.
	Errors int `json:",omitempty"`
	// Moves are the steps the cluster reached, in order: a rollback's
	// return to the baseline too. With Verdicts they are the rollout's
	// history, as a chart draws it (package observe).
	Moves []RecordedMove `json:",omitempty"`
	// Verdicts are the analyses, in order.
	Verdicts []RecordedVerdict
	// Outcome is how the rollout ended; empty while it runs.
	Outcome RunOutcome
	// Reason says why it ended so: the failed analyses, a drift of the
	// live routes, a hook.
	Reason string `json:",omitempty"`
	// Updated is when the record was last written (zero in the records
	// Plan.WriteDir writes).
	Updated time.Time `json:",omitzero"`
}

// RecordedVerdict is one analysis as the record keeps it.
type RecordedVerdict struct {
	Step       string
	Time       time.Time
	Conclusion Conclusion
	// Summary is the verdict as the events say it: "fail: success-rate
	// 80% (fail: 80% < 99% (threshold)), ...".
	Summary string
}

// RecordedMove is a step the cluster reached, as the record keeps it.
type RecordedMove struct {
	Step string
	// Time is when the cluster reached it.
	Time time.Time
	// Weights are the versions' shares of the model's split traffic at the
	// step, in percent (Step.Weights).
	Weights map[string]int32
}

// RecordName is the name of the ConfigMap that holds a model's rollout
// record: <model>-rollout.
func RecordName(model string) string { return model + "-rollout" }

const recordKey = "record.json"

// object is the record as the ConfigMap that holds it.
func (r *Record) object() (*corev1.ConfigMap, error) {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, err
	}
	return &corev1.ConfigMap{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{Name: r.name(), Namespace: r.Namespace,
			Labels: map[string]string{labels.App: r.Model, labels.ManagedBy: labels.Manager}},
		Data: map[string]string{recordKey: string(data)},
	}, nil
}

var configMapKind = schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}

// name is the name of the record's ConfigMap.
func (r *Record) name() string {
	if r.Adapter != "" {
		return AdapterRecordName(r.Model, r.Adapter)
	}
	return RecordName(r.Model)
}

// Status reads the record of the rollout of a model: where it stands (the
// step it is at, a move under way), its failed analyses and verdicts, and
// how it ended. found is false when the model has no record (no rollout
// has run).
func Status(ctx context.Context, c apply.Reader, namespace, model string) (rec Record, found bool, err error) {
	return readRecord(ctx, c, namespace, RecordName(model))
}

// readRecord reads the record in ConfigMap name.
func readRecord(ctx context.Context, c apply.Reader, namespace, name string) (rec Record, found bool, err error) {
	u, err := c.Get(ctx, configMapKind, namespace, name)
	if apierrors.IsNotFound(err) {
		return Record{}, false, nil
	}
	if err != nil {
		return Record{}, false, fmt.Errorf("rollout: reading the rollout record %s/%s: %w", namespace, name, err)
	}
	data, _, _ := unstructured.NestedString(u.Object, "data", recordKey)
	if err := json.Unmarshal([]byte(data), &rec); err != nil {
		return Record{}, false, fmt.Errorf("rollout: the rollout record %s/%s does not read: %w", namespace, name, err)
	}
	return rec, true, nil
}

// status reads the plan's record.
func (p *Plan) status(ctx context.Context, c apply.Reader) (Record, bool, error) {
	if p.Adapter != "" {
		return AdapterStatus(ctx, c, p.Namespace, p.Model, p.Adapter)
	}
	return Status(ctx, c, p.Namespace, p.Model)
}

// candidateDigest is the hash of the candidate's pods' template, as the
// baseline step builds it.
func (p *Plan) candidateDigest() (string, error) {
	if p.Adapter != "" {
		return p.revisionDigest()
	}
	name := names.Deployment(p.Model, p.Candidate)
	objs := p.Steps[0].Objects
	if !slices.ContainsFunc(objs, func(o render.Object) bool { return o.GetName() == name }) {
		// A cluster that does not run the candidate (package
		// multicluster): its pods are the App's all the same.
		all, err := mesh.Build(p.Steps[0].App)
		if err != nil {
			return "", err
		}
		objs = all
	}
	for _, o := range objs {
		if o.GetObjectKind().GroupVersionKind().Kind != "Deployment" || o.GetName() != name {
			continue
		}
		u, err := render.Unstructured(o)
		if err != nil {
			return "", err
		}
		template, _, _ := unstructured.NestedMap(u.Object, "spec", "template")
		b, err := json.Marshal(template) // encoding/json sorts map keys: stable bytes
		if err != nil {
			return "", err
		}
		sum := sha256.Sum256(b)
		return hex.EncodeToString(sum[:]), nil
	}
	return "", fmt.Errorf("rollout: the baseline has no Deployment %s", name)
}
