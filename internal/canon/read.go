package canon

import (
	"bytes"
	"strconv"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// Read decodes one document that this package wrote into the values
// Kubernetes' unstructured JSON decoding gives (map[string]any, []any,
// string, int64, float64, bool, nil), as sigs.k8s.io/yaml's YAML-to-JSON
// followed by unstructured's JSON decoding would, much faster.
// It knows only the block style the encoder writes; anything else (a value
// JSON cannot hold, such as .nan) answers false, and the caller takes the
// general path. TestReadMatchesReference holds the two to each other.
func Read(doc []byte) (map[string]any, bool) {
	r := reader{doc: doc}
	r.next()
	if r.eof || r.indent != 0 || r.dash() {
		return nil, false
	}
	m, ok := r.mapping(0)
	if !ok || !r.eof {
		return nil, false
	}
	return m, true
}

// reader walks a document line by line.
type reader struct {
	doc    []byte
	pos    int    // start of the line after the current one
	line   []byte // the current line without its indent and newline
	indent int
	eof    bool
}

// next moves to the next line.
func (r *reader) next() {
	if r.pos >= len(r.doc) {
		r.eof, r.line = true, nil
		return
	}
	end := bytes.IndexByte(r.doc[r.pos:], '\n')
	var l []byte
	if end < 0 {
		l, r.pos = r.doc[r.pos:], len(r.doc)
	} else {
		l, r.pos = r.doc[r.pos:r.pos+end], r.pos+end+1
	}
	n := 0
	for n < len(l) && l[n] == ' ' {
		n++
	}
	r.indent, r.line = n, l[n:]
}

func (r *reader) dash() bool {
	return len(r.line) > 0 && r.line[0] == '-' && (len(r.line) == 1 || r.line[1] == ' ')
}

// mapping reads the entries at indent, from the current line on.
func (r *reader) mapping(indent int) (map[string]any, bool) {
	m := map[string]any{}
	for !r.eof && r.indent == indent && !r.dash() {
		key, rest, ok := splitKey(r.line)
		if !ok {
			return nil, false
		}
		if _, dup := m[key]; dup {
			return nil, false
		}
		v, ok := r.value(rest, indent)
		if !ok {
			return nil, false
		}
		m[key] = v
	}
	if !r.eof && r.indent > indent {
		return nil, false
	}
	return m, true
}

// value reads what follows a key or a dash at indent: rest of the line, or
// the lines below it.
func (r *reader) value(rest []byte, indent int) (any, bool) {
	if len(rest) > 0 {
		if rest[0] != ' ' {
			return nil, false
		}
		r.next()
		if bytes.Equal(rest, []byte(" {}")) {
			return map[string]any{}, true
		}
		return scalar(rest[1:])
	}
	r.next()
	switch {
	case r.eof:
		return nil, false
	case r.indent == indent && r.dash():
		return r.sequence(indent) // lists sit at their key's indent
	case r.indent > indent && r.dash():
		return r.sequence(r.indent) // a list in a list item
	case r.indent > indent:
		return r.mapping(r.indent)
	}
	return nil, false
}

// sequence reads the items at indent, from the current line on.
func (r *reader) sequence(indent int) ([]any, bool) {
	var s []any
	for !r.eof && r.indent == indent && r.dash() {
		if len(r.line) == 1 {
			v, ok := r.value(nil, indent)
			if !ok {
				return nil, false
			}
			s = append(s, v)
			continue
		}
		rest := r.line[2:]
		if bytes.Equal(rest, []byte("{}")) {
			r.next()
			s = append(s, map[string]any{})
			continue
		}
		if len(rest) == 0 || rest[0] == '-' && (len(rest) == 1 || rest[1] == ' ') {
			return nil, false // "- - a": not written
		}
		if _, _, isEntry := splitKey(rest); isEntry {
			// "- key: value": a map whose first entry shares the dash's
			// line and whose others sit two further in.
			r.line, r.indent = rest, indent+2
			m, ok := r.mapping(indent + 2)
			if !ok {
				return nil, false
			}
			s = append(s, m)
			continue
		}
		r.next()
		v, ok := scalar(rest)
		if !ok {
			return nil, false
		}
		s = append(s, v)
	}
	if !r.eof && r.indent > indent {
		return nil, false
	}
	return s, true
}

// splitKey splits "key: rest" or "key:" into the key and what follows the
// colon; a plain key holds no space, and ends at the first colon that a
// space or the end of the line follows.
func splitKey(l []byte) (key string, rest []byte, ok bool) {
	if len(l) > 0 && l[0] == '"' {
		end := quotedEnd(l)
		if end < 0 || end >= len(l) || l[end] != ':' {
			return "", nil, false
		}
		k, err := strconv.Unquote(string(l[:end]))
		return k, l[end+1:], err == nil
	}
	for i, c := range l {
		switch c {
		case ' ':
			return "", nil, false
		case ':':
			if i > 0 && (i+1 == len(l) || l[i+1] == ' ') {
				return string(l[:i]), l[i+1:], true
			}
		}
	}
	return "", nil, false
}

// quotedEnd returns the index just past the double-quoted string that l
// starts with, or -1.
func quotedEnd(l []byte) int {
	for i := 1; i < len(l); i++ {
		switch l[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return -1
}

// scalar reads one scalar as the JSON decoding of its YAML meaning would
// give it. The encoder writes a string plain only when every YAML reader
// reads it as that string, so a plain scalar that is no bool, null or
// number in the forms the encoder writes them is a string.
func scalar(s []byte) (any, bool) {
	if len(s) == 0 {
		return nil, false
	}
	if s[0] == '"' {
		if quotedEnd(s) != len(s) {
			return nil, false
		}
		v, err := strconv.Unquote(string(s))
		return v, err == nil
	}
	switch string(s) {
	case "true":
		return true, true
	case "false":
		return false, true
	case "null":
		return nil, true
	case ".nan", ".inf", "-.inf":
		return nil, false // floats JSON cannot hold
	}
	// The encoder's plain scalars use its plain characters only.
	if plainClass[s[0]] != plainAny {
		return nil, false
	}
	for _, c := range s[1:] {
		if plainClass[c] == 0 {
			return nil, false
		}
	}
	switch numberForm(s) {
	case formInt:
		if i, err := strconv.ParseInt(string(s), 10, 64); err == nil {
			return i, true
		}
		// Past int64, as JSON decoding into unstructured does.
		f, err := strconv.ParseFloat(string(s), 64)
		return f, err == nil
	case formFloat:
		f, err := strconv.ParseFloat(string(s), 64)
		return f, err == nil
	}
	return string(s), true
}

const (
	formNone = iota
	formInt
	formFloat
)

// numberForm tells the forms strconv writes: -?digits, and
// -?digits(.digits)?(e[-+]digits)?.
func numberForm(s []byte) int {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	var ok bool
	if i, ok = digits(s, i); !ok {
		return formNone
	}
	if i == len(s) {
		return formInt
	}
	if s[i] == '.' {
		if i, ok = digits(s, i+1); !ok {
			return formNone
		}
	}
	if i < len(s) && s[i] == 'e' {
		i++
		if i < len(s) && (s[i] == '-' || s[i] == '+') {
			i++
		}
		if i, ok = digits(s, i); !ok {
			return formNone
		}
	}
	if i != len(s) {
		return formNone
	}
	return formFloat
}

// digits skips the decimal digits of s from i, and reports whether there
// was at least one.
func digits(s []byte, i int) (int, bool) {
	start := i
	for i < len(s) && '0' <= s[i] && s[i] <= '9' {
		i++
	}
	return i, i > start
}

// Unstructured reads one YAML document as an unstructured object: canonical
// YAML by Read, anything else the general way (to JSON, then as
// unstructured reads JSON), which gives the same for canonical YAML.
func Unstructured(doc []byte) (*unstructured.Unstructured, error) {
	if m, ok := Read(doc); ok {
		return &unstructured.Unstructured{Object: m}, nil
	}
	return UnstructuredOf(doc)
}

// UnstructuredOf reads any YAML document the general way, the reference
// that Read is held to.
func UnstructuredOf(doc []byte) (*unstructured.Unstructured, error) {
	j, err := yaml.YAMLToJSON(doc)
	if err != nil {
		return nil, err
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(j); err != nil {
		return nil, err
	}
	return u, nil
}
