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

// MaxKey is the longest map key (a header name in a match, say) that the
// spec packages accept: YAML readers refuse keys over 1,024 characters,
// and the encoder may quote one.
const MaxKey = 1022

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
	if len(errs) > 0 {
		return errs
	}
	// Istio's own host rules beyond DNS-1123 (ValidateDNS1123Labels): every
	// label at most 63 characters, and no all-numeric top-level domain.
	dots := 0
	for rest := name; ; dots++ {
		l, after, more := strings.Cut(rest, ".")
		if len(l) > 63 {
			errs = append(errs, field.Invalid(p.Field(), h, fmt.Sprintf("each label at most 63 characters; %.20q... has %d", l, len(l))))
		}
		if !more {
			break
		}
		rest = after
	}
	// Istio checks the labels after the first: "a.123" and "*.123" fail,
	// "123" alone does not.
	if tld := name[strings.LastIndexByte(name, '.')+1:]; (dots > 0 || name != h) && allDigits(tld) {
		errs = append(errs, field.Invalid(p.Field(), h, fmt.Sprintf("the top-level domain %q cannot be all-numeric", tld)))
	}
	return errs
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// FQDN checks that a host served by a gateway or a sidecar scope is a
// fully qualified name (it has a dot) or "*": Istio refuses short names
// there.
func FQDN(p fieldpath.Path, h string) field.ErrorList {
	if h == "*" || strings.Contains(h, ".") {
		return nil
	}
	return field.ErrorList{field.Invalid(p.Field(), h, `a fully qualified name (models.example.com) or "*": Istio refuses short names here`)}
}

// Covers reports whether pattern, a gateway's or a VirtualService's host,
// takes requests for host: "*" takes any, "*.example.com" any name under
// example.com (wildcards under it too), a name itself.
func Covers(pattern, host string) bool {
	if pattern == "*" || pattern == host {
		return true
	}
	if suffix, ok := strings.CutPrefix(pattern, "*"); ok {
		if hs, wild := strings.CutPrefix(host, "*"); wild {
			return strings.HasSuffix(hs, suffix)
		}
		return strings.HasSuffix(host, suffix) && len(host) > len(suffix)
	}
	return false
}

// HostsOverlap reports whether one host matches the other as Istio matches
// them: equal, or either covering the other.
func HostsOverlap(a, b string) bool { return Covers(a, b) || Covers(b, a) }

// Duration checks an optional duration: 0 (unset), or whole milliseconds
// from 1ms, the shortest and finest Istio accepts.
func Duration(p fieldpath.Path, d time.Duration) field.ErrorList {
	switch {
	case d == 0:
		return nil
	case d < time.Millisecond:
		return field.ErrorList{field.Invalid(p.Field(), d.String(), "must be at least 1ms")}
	case d%time.Millisecond != 0:
		return field.ErrorList{field.Invalid(p.Field(), d.String(), "whole milliseconds: Istio supports no finer precision")}
	}
	return nil
}

// MinPercent is the smallest percentage Istio accepts above 0: Envoy counts
// shares in millionths.
const MinPercent = 0.0001

// Percent checks a percentage from MinPercent to 100.
func Percent(p fieldpath.Path, v float64) field.ErrorList {
	if math.IsNaN(v) || v < MinPercent || v > 100 {
		return field.ErrorList{field.Invalid(p.Field(), v, "a percentage from 0.0001 (Envoy's resolution) to 100")}
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

// ExportTo checks an exportTo list of an object in namespace: ".", "*" or
// namespace names, none twice ("." and namespace itself are the same).
func ExportTo(p fieldpath.Path, list []string, namespace string) field.ErrorList {
	if len(list) == 0 {
		return nil
	}
	var errs field.ErrorList
	seen := map[string]bool{}
	for i, ns := range list {
		switch {
		case seen[ns]:
			errs = append(errs, field.Duplicate(p.Index(i).Field(), ns))
		case ns == "." && seen[namespace], ns == namespace && seen["."]:
			errs = append(errs, field.Invalid(p.Index(i).Field(), ns, fmt.Sprintf(`"." is the object's own namespace, %s, already listed`, namespace)))
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
