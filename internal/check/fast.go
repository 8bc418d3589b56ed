package check

import (
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// The checks below answer the common case, a valid value, without the
// regular expressions k8s.io/apimachinery uses, and fall back to it to word
// the problem when the value is invalid. Their tests hold them to
// apimachinery's answers.

func isAlnum(c byte) bool { return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' }

// labelChars reports whether s is lowercase alphanumerics and '-', starting
// and ending alphanumeric: one DNS-1123 label, without the length limit.
func labelChars(s string) bool {
	if len(s) == 0 || !isAlnum(s[0]) || !isAlnum(s[len(s)-1]) {
		return false
	}
	for i := 1; i < len(s)-1; i++ {
		if c := s[i]; !isAlnum(c) && c != '-' {
			return false
		}
	}
	return true
}

func isLabel(s string) bool { return len(s) <= 63 && labelChars(s) }

// DNS1123Label is validation.IsDNS1123Label.
func DNS1123Label(s string) []string {
	if isLabel(s) {
		return nil
	}
	return validation.IsDNS1123Label(s)
}

func isSubdomain(s string) bool {
	if len(s) == 0 || len(s) > 253 {
		return false
	}
	for part := range strings.SplitSeq(s, ".") {
		if !labelChars(part) {
			return false
		}
	}
	return true
}

// DNS1123Subdomain is validation.IsDNS1123Subdomain.
func DNS1123Subdomain(s string) []string {
	if isSubdomain(s) {
		return nil
	}
	return validation.IsDNS1123Subdomain(s)
}

func isQualifiedPart(s string) bool {
	if len(s) == 0 || len(s) > 63 {
		return false
	}
	alnum := func(c byte) bool { return isAlnum(c) || 'A' <= c && c <= 'Z' }
	if !alnum(s[0]) || !alnum(s[len(s)-1]) {
		return false
	}
	for i := 1; i < len(s)-1; i++ {
		if c := s[i]; !alnum(c) && c != '-' && c != '_' && c != '.' {
			return false
		}
	}
	return true
}

// QualifiedName is validation.IsQualifiedName (a label or annotation key).
func QualifiedName(s string) []string {
	name := s
	for i := 0; i < len(s); i++ {
		if s[i] == '/' {
			if !isSubdomain(s[:i]) {
				return validation.IsQualifiedName(s)
			}
			name = s[i+1:]
			break
		}
	}
	if isQualifiedPart(name) {
		return nil
	}
	return validation.IsQualifiedName(s)
}

// LabelValue is validation.IsValidLabelValue.
func LabelValue(s string) []string {
	if s == "" || isQualifiedPart(s) {
		return nil
	}
	return validation.IsValidLabelValue(s)
}

// HTTPHeaderName is validation.IsHTTPHeaderName.
func HTTPHeaderName(s string) []string {
	if s != "" {
		ok := true
		for i := 0; i < len(s) && ok; i++ {
			c := s[i]
			ok = isAlnum(c) || 'A' <= c && c <= 'Z' || c == '-'
		}
		if ok {
			return nil
		}
	}
	return validation.IsHTTPHeaderName(s)
}

// PortName is validation.IsValidPortName (an IANA service name): at most
// 15 lowercase alphanumerics and '-', with a letter, no "--", and no '-'
// at either end.
func PortName(s string) []string {
	if len(s) <= 15 && labelChars(s) && !strings.Contains(s, "--") && strings.ContainsFunc(s, func(r rune) bool { return 'a' <= r && r <= 'z' }) {
		return nil
	}
	return validation.IsValidPortName(s)
}
