// Package check holds the validation steps the spec packages share: hosts,
// names, durations and percentages, each returning field errors.
package check

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/mlmesh/mlmesh/internal/fieldpath"
)

// Name checks a required DNS-1123 label (an object name).
func Name(p fieldpath.Path, v string) field.ErrorList {
	if v == "" {
		return field.ErrorList{field.Required(p.Field(), "a DNS-1123 label (lowercase letters, digits and '-')")}
	}
	return Label(p, v)
}

// Label checks an optional DNS-1123 label.
func Label(p fieldpath.Path, v string) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range DNS1123Label(v) {
		errs = append(errs, field.Invalid(p.Field(), v, msg))
	}
	return errs
}

// Host checks a hostname as Istio accepts it in a VirtualService,
// DestinationRule or ServiceEntry: a DNS name of lowercase labels, or one
// with a leading "*." wildcard when wildcard is true, or "*" alone when star
// is true.
func Host(p fieldpath.Path, h string, wildcard, star bool) field.ErrorList {
	if h == "" {
		return field.ErrorList{field.Required(p.Field(), "a hostname")}
	}
	if h == "*" {
		if star {
			return nil
		}
		return field.ErrorList{field.Invalid(p.Field(), h, "a hostname, not the wildcard *")}
	}
	name := h
	if strings.HasPrefix(h, "*.") {
		if !wildcard {
			return field.ErrorList{field.Invalid(p.Field(), h, "a hostname without wildcard")}
		}
		name = h[2:]
	}
	if strings.Contains(name, "*") {
		return field.ErrorList{field.Invalid(p.Field(), h, "a wildcard is only allowed as the whole first label (*.example.com)")}
	}
	var errs field.ErrorList
	for _, msg := range DNS1123Subdomain(name) {
		errs = append(errs, field.Invalid(p.Field(), h, msg))
	}
	return errs
}

// Duration checks an optional duration: 0 (unset) or at least 1ms, the
// shortest Istio accepts.
func Duration(p fieldpath.Path, d time.Duration) field.ErrorList {
	if d == 0 {
		return nil
	}
	if d < time.Millisecond {
		return field.ErrorList{field.Invalid(p.Field(), d.String(), "must be at least 1ms")}
	}
	return nil
}

// Percent checks a percentage in (0, 100].
func Percent(p fieldpath.Path, v float64) field.ErrorList {
	if math.IsNaN(v) || v <= 0 || v > 100 {
		return field.ErrorList{field.Invalid(p.Field(), v, "a percentage more than 0 and at most 100")}
	}
	return nil
}

// Labels checks a label map's keys and values.
func Labels(p fieldpath.Path, m map[string]string) field.ErrorList {
	var errs field.ErrorList
	for k, v := range m {
		for _, msg := range QualifiedName(k) {
			errs = append(errs, field.Invalid(p.Key(k).Field(), k, "key: "+msg))
		}
		for _, msg := range LabelValue(v) {
			errs = append(errs, field.Invalid(p.Key(k).Field(), v, msg))
		}
	}
	return Sorted(errs)
}

// Sorted orders errors built from a map by field path, so messages do not
// depend on map iteration order.
func Sorted(errs field.ErrorList) field.ErrorList {
	slices.SortStableFunc(errs, func(a, b *field.Error) int { return strings.Compare(a.Field, b.Field) })
	return errs
}

// ExportTo checks an exportTo list: ".", "*" or namespace names.
func ExportTo(p fieldpath.Path, list []string) field.ErrorList {
	var errs field.ErrorList
	seen := map[string]bool{}
	for i, ns := range list {
		if seen[ns] {
			errs = append(errs, field.Duplicate(p.Index(i).Field(), ns))
		}
		seen[ns] = true
		if ns == "." || ns == "*" {
			continue
		}
		for _, msg := range DNS1123Label(ns) {
			errs = append(errs, field.Invalid(p.Index(i).Field(), ns, fmt.Sprintf(`".", "*" or a namespace: %s`, msg)))
		}
	}
	if seen["*"] && len(list) > 1 {
		errs = append(errs, field.Invalid(p.Field(), list, `"*" already exports to every namespace; list it alone`))
	}
	return errs
}
