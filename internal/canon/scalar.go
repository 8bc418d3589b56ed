package canon

import (
	"math"
	"strconv"
	"strings"
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

// Character classes of plain scalars, for plainSafe.
const (
	plainAny    = 1 // may appear anywhere: letters, digits, - _ . /
	plainInner  = 2 // may appear after the first character: * + = ( ) $ ^ ; ,
	plainInside = 3 // may appear inside, neither first nor last: ':'
)

var plainClass = func() (t [256]uint8) {
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = plainAny, plainAny
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = plainAny
	}
	for _, c := range "-_./" {
		t[c] = plainAny
	}
	for _, c := range "*+=()$^;," {
		t[c] = plainInner
	}
	t[':'] = plainInside
	return t
}()

// plainSafe reports whether s can be written as a plain scalar: only
// characters that carry no YAML syntax, not starting with an indicator, and
// not resolvable as a bool, null, number or timestamp.
func plainSafe(s string) bool {
	if s == "" {
		return false
	}
	// "a:b" is plain, "a: b" and a trailing ':' are not; URLs are common.
	if plainClass[s[0]] != plainAny || plainClass[s[len(s)-1]] == plainInside {
		return false
	}
	for i := 1; i < len(s); i++ {
		if plainClass[s[i]] == 0 {
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
	return !numberLike(s) && !timestampLike(s)
}

// numberLike reports whether s may read as an int or a float in YAML 1.1 or
// 1.2: decimal, binary, octal, hex, with underscores, sexagesimal, with an
// exponent, inf or nan. It errs on the side of true: a false positive only
// quotes a string that did not need it. TestNumberLike holds it to the
// regular expression it replaces, which is too slow for the hot path.
func numberLike(s string) bool {
	underscore := false
	for i := 0; i < len(s); i++ {
		if !numberChar[s[i]] {
			return false // "--port=8500", "1Gi", "v1": no number has an '=', 'G' or 'v'
		}
		underscore = underscore || s[i] == '_'
	}
	// YAML 1.1 readers (sigs.k8s.io/yaml's) drop every underscore before
	// they parse a number, wherever it is: "0_X0" reads as hex 0.
	return numberLikeAsWritten(s) || underscore && numberLikeAsWritten(strings.ReplaceAll(s, "_", ""))
}

// numberChar holds the bytes a number of numberLike's may have: digits,
// signs, '.', ':', '_', and the letters of hex digits, prefixes, exponents,
// inf and nan.
var numberChar = func() (t [256]bool) {
	for _, c := range []byte("0123456789+-.:_abcdefinoxABCDEFINOX") {
		t[c] = true
	}
	return t
}()

func numberLikeAsWritten(s string) bool {
	i := 0
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		i++
	}
	if i == len(s) {
		return false
	}
	rest := s[i:]
	switch rest {
	case ".inf", ".Inf", ".INF", ".nan", ".NaN", ".NAN", ".":
		return true
	}
	if len(rest) > 1 && rest[0] == '0' {
		switch rest[1] {
		case 'b', 'B':
			return allIn(rest[2:], "01_") && len(rest) > 2
		case 'x', 'X':
			return allIn(rest[2:], "0123456789abcdefABCDEF_") && len(rest) > 2
		case 'o', 'O':
			return allIn(rest[2:], "01234567_") && len(rest) > 2
		}
	}
	// [0-9][0-9_]*(:[0-5]?[0-9])*(\.[0-9_]*)?([eE][-+]?[0-9]+)?  or  \.[0-9][0-9_]*([eE][-+]?[0-9]+)?
	j := 0
	digits := 0
	for j < len(rest) && (isDigit(rest[j]) || rest[j] == '_' && digits > 0) {
		j++
		digits++
	}
	if digits > 0 {
		for j < len(rest) && rest[j] == ':' {
			k := j + 1
			n := 0
			for k < len(rest) && isDigit(rest[k]) && n < 2 {
				k++
				n++
			}
			if n == 0 {
				return false
			}
			j = k
		}
	}
	if j < len(rest) && rest[j] == '.' {
		j++
		frac := 0
		for j < len(rest) && (isDigit(rest[j]) || rest[j] == '_') {
			j++
			frac++
		}
		if digits == 0 && frac == 0 {
			return false
		}
	} else if digits == 0 {
		return false
	}
	if j < len(rest) && (rest[j] == 'e' || rest[j] == 'E') {
		j++
		if j < len(rest) && (rest[j] == '-' || rest[j] == '+') {
			j++
		}
		exp := 0
		for j < len(rest) && isDigit(rest[j]) {
			j++
			exp++
		}
		if exp == 0 {
			return false
		}
	}
	return j == len(rest)
}

// timestampLike reports whether s starts like a YAML 1.1 timestamp: four
// digits, '-', one or two digits, '-', one or two digits.
func timestampLike(s string) bool {
	if len(s) < 8 || !isDigit(s[0]) || !isDigit(s[1]) || !isDigit(s[2]) || !isDigit(s[3]) || s[4] != '-' {
		return false
	}
	i := 5
	if i < len(s) && isDigit(s[i]) {
		i++
	} else {
		return false
	}
	if i < len(s) && isDigit(s[i]) {
		i++
	}
	if i == len(s) || s[i] != '-' {
		return false
	}
	i++
	return i < len(s) && isDigit(s[i])
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func allIn(s, set string) bool {
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(set, s[i]) < 0 {
			return false
		}
	}
	return true
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

const hexDigits = "0123456789abcdef"

// quotedAsIs holds the ASCII bytes appendQuoted writes unescaped.
var quotedAsIs = func() (t [256]bool) {
	for c := 0x20; c < 0x7f; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// appendQuoted appends s double-quoted. Invalid UTF-8 becomes U+FFFD, as
// encoding/json does.
func appendQuoted(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		// A run of bytes written as they are goes in one append.
		j := i
		for j < len(s) && quotedAsIs[s[j]] {
			j++
		}
		b = append(b, s[i:j]...)
		if i = j; i == len(s) {
			break
		}
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
		case r == 0x85 || r == 0x2028 || r == 0x2029 || r == 0xfeff || (r >= 0x80 && r < 0xa0) || r == 0xfffe || r == 0xffff:
			// Line breaks and BOM that YAML readers treat specially, and the
			// noncharacters U+FFFE and U+FFFF, which YAML does not allow raw.
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
