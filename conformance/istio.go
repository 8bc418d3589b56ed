package conformance

import (
	"encoding/json"
	"fmt"

	"istio.io/istio/pkg/config"
	"istio.io/istio/pkg/config/schema/collections"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// ValidateIstio runs Istio's own validation on one Istio object, as istiod's
// validating webhook and istioctl validate do: the spec is parsed strictly
// (an unknown field is an error), then validated. It returns Istio's
// warnings and its error.
func ValidateIstio(u *unstructured.Unstructured) (warnings []string, err error) {
	gvk := u.GroupVersionKind()
	s, ok := collections.Pilot.FindByGroupVersionAliasesKind(config.GroupVersionKind{Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind})
	if !ok {
		return nil, fmt.Errorf("Istio knows no schema for %s", gvk)
	}
	spec, err := s.NewInstance()
	if err != nil {
		return nil, err
	}
	raw, err := json.Marshal(u.Object["spec"])
	if err != nil {
		return nil, err
	}
	if err := config.ApplyJSONStrict(spec, string(raw)); err != nil {
		return nil, fmt.Errorf("strict parse: %w", err)
	}
	cfg := config.Config{
		Meta: config.Meta{
			GroupVersionKind: s.GroupVersionKind(),
			Name:             u.GetName(),
			Namespace:        u.GetNamespace(),
			Labels:           u.GetLabels(),
			Annotations:      u.GetAnnotations(),
		},
		Spec: spec,
	}
	warn, err := s.ValidateConfig(cfg)
	if warn != nil {
		warnings = append(warnings, warn.Error())
	}
	return warnings, err
}
