package render

import (
	"math"
	"regexp"
	"strconv"
	"unicode/utf8"
)

// appendString appends s as a YAML scalar that every YAML 1.1 and 1.2 reader
// reads back as the same string: plain when that is unambiguous, else
// double-quoted with JSON-compatible escapes.
func appendString(b []byte, s string) []byte {
	if plainSafe(s) {
		return append(b, s...)
	}
	return appendQuoted(b, s)
}

// plainSafe reports whether s can be written as a plain scalar: only
// characters that carry no YAML syntax, not starting with an indicator, and
// not resolvable as a bool, null, number or timestamp.
func plainSafe(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '-' || c == '_' || c == '.' || c == '/':
		case c == '*' || c == '+' || c == '=' || c == '(' || c == ')' || c == '$' || c == '^' || c == ';' || c == ',':
			if i == 0 {
				return false
			}
		case c == ':':
			// "a:b" is plain, "a: b" and a trailing ':' are not; URLs are common.
			if i == 0 || i == len(s)-1 {
				return false
			}
		default:
			return false
		}
	}
	c := s[0]
	if c == '-' && (len(s) == 1 || s[1] == '-' && len(s) >= 3 && s[2] == '-') {
		return false // "-" and "---" are syntax
	}
	if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' {
		return !reservedWord(s)
	}
	if c == '_' || c == '/' {
		return true
	}
	// Starts with a digit, '-', '+' or '.': may read as a number or timestamp.
	return !numberLike.MatchString(s) && !timestampLike.MatchString(s)
}

// reservedWord reports whether s reads as a bool or null in YAML 1.1 or 1.2.
func reservedWord(s string) bool {
	if len(s) > 5 {
		return false
	}
	switch s {
	case "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO",
		"true", "True", "TRUE", "false", "False", "FALSE",
		"on", "On", "ON", "off", "Off", "OFF",
		"null", "Null", "NULL":
		return true
	}
	return false
}

var (
	// Anything a YAML 1.1 or 1.2 reader may resolve as an int or a float:
	// decimal, binary, octal, hex, underscores, sexagesimal, exponents, inf, nan.
	numberLike = regexp.MustCompile(`^[-+]?(` +
		`[0-9][0-9_]*(:[0-5]?[0-9])*(\.[0-9_]*)?([eE][-+]?[0-9]+)?` +
		`|\.[0-9][0-9_]*([eE][-+]?[0-9]+)?` +
		`|0[bB][01_]+|0[oO]?[0-7_]+|0[xX][0-9a-fA-F_]+` +
		`|\.(inf|Inf|INF|nan|NaN|NAN)` +
		`|\.)$`)
	timestampLike = regexp.MustCompile(`^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}`)
)

const hexDigits = "0123456789abcdef"

// appendQuoted appends s double-quoted. Invalid UTF-8 becomes U+FFFD, as
// encoding/json does.
func appendQuoted(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\t':
				b = append(b, '\\', 't')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c < 0x20 || c == 0x7f:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, `\ufffd`...)
		case r == 0x85 || r == 0x2028 || r == 0x2029 || r == 0xfeff || (r >= 0x80 && r < 0xa0):
			// Line breaks and BOM that YAML readers treat specially.
			b = append(b, '\\', 'u')
			b = append(b, hexDigits[r>>12&0xf], hexDigits[r>>8&0xf], hexDigits[r>>4&0xf], hexDigits[r&0xf])
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

func appendInt(b []byte, i int64) []byte   { return strconv.AppendInt(b, i, 10) }
func appendUint(b []byte, u uint64) []byte { return strconv.AppendUint(b, u, 10) }

// appendFloat writes a float as JSON would: shortest form, no exponent for
// ordinary magnitudes, integers without a decimal point.
func appendFloat(b []byte, f float64, bits int) []byte {
	switch {
	case f != f:
		return append(b, `.nan`...)
	case math.IsInf(f, 1):
		return append(b, `.inf`...)
	case math.IsInf(f, -1):
		return append(b, `-.inf`...)
	}
	abs := f
	if abs < 0 {
		abs = -abs
	}
	format := byte('f')
	if abs != 0 && (bits == 64 && (abs < 1e-6 || abs >= 1e21) || bits == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21)) {
		format = 'e'
	}
	return strconv.AppendFloat(b, f, format, -1, bits)
}
