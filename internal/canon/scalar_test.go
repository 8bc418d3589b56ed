package canon

import (
	"math/rand"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	yamlv3 "go.yaml.in/yaml/v3"
	"sigs.k8s.io/yaml"
)

var scalarCases = []string{
	"", " ", "a", "v1", "true", "True", "yes", "no", "on", "off", "y", "n", "null", "~", "Null",
	"0", "1", "-1", "+1", "1.5", ".5", "-.5", "1e3", "1E3", "0x1F", "0o17", "017", "0b101", "1_000", "1:30",
	".inf", "-.Inf", ".nan", "2001-12-14", "2001-12-14t21:59:43.10-05:00", "1Gi", "500m", "2Gi", "8501",
	"--port=8500", "-", "---", "--", "-a", "- a", "a: b", "a:b", "a:", ":a", "http://x/y", "#a", "a #b", "a#b",
	".*chrome.*", "*", "*.example.com", "&a", "!a", "|", ">", "'a'", "\"a\"", "%a", "@a", "`a", "[a]", "{a}", "a,b", ",a",
	"a\nb", "a\tb", "tab\t", "trailing ", " leading", "\x00", "\x7f", "é", "日本", "\u2028", "\ufeffbom", "\xff\xfe", "s3://m/\ufffe", "\uffff",
	"^(.*?;)?(version=v3)(;.*)?$", "connect-failure,503", "s3://bucket/path", "nvidia.com/gpu", "=", "a=b", "?a", "? a",
	"0_X0", "0_b1", "1_e5", "-0_x_f", // underscores a YAML 1.1 reader drops before it parses a number
}

// TestScalarsRoundTrip checks that every string comes back as the same
// string from both YAML 1.1 (sigs.k8s.io/yaml, as kubectl reads) and YAML
// 1.2 (yaml.v3) readers, as a map value and as a map key.
func TestScalarsRoundTrip(t *testing.T) {
	for _, s := range scalarCases {
		checkScalar(t, s)
	}
}

func FuzzScalar(f *testing.F) {
	for _, s := range scalarCases {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkScalar(t, s)
	})
}

func checkScalar(t *testing.T, s string) {
	t.Helper()
	// Each invalid byte becomes U+FFFD, as encoding/json does.
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		b.WriteRune(r)
		i += n
	}
	want := b.String()
	enc := string(appendString(nil, s))
	for kind, doc := range []string{"k: " + enc + "\n", enc + ": v\n", "- " + enc + "\n"} {
		if kind == 1 && len(enc) > maxKey {
			continue // the encoder refuses such keys (see encoder.key)
		}
		var v1 any
		if err := yaml.Unmarshal([]byte(doc), &v1); err != nil {
			t.Fatalf("%q encoded as %s: YAML 1.1 reader: %v", s, enc, err)
		}
		var v2 any
		if err := yamlv3.Unmarshal([]byte(doc), &v2); err != nil {
			t.Fatalf("%q encoded as %s: YAML 1.2 reader: %v", s, enc, err)
		}
		for _, got := range []any{v1, v2} {
			var str any
			switch g := got.(type) {
			case map[string]any:
				if kind == 0 {
					str = g["k"]
				} else {
					for k := range g {
						str = k
					}
				}
			case []any:
				str = g[0]
			}
			if str != want {
				t.Fatalf("%q encoded as %s reads back as %#v (%T)", s, enc, str, str)
			}
		}
	}
}

// The regular expressions the hand-written checks replace.
var (
	numberLikeRE = regexp.MustCompile(`^[-+]?(` +
		`[0-9][0-9_]*(:[0-5]?[0-9])*(\.[0-9_]*)?([eE][-+]?[0-9]+)?` +
		`|\.[0-9][0-9_]*([eE][-+]?[0-9]+)?` +
		`|0[bB][01_]+|0[oO]?[0-7_]+|0[xX][0-9a-fA-F_]+` +
		`|\.(inf|Inf|INF|nan|NaN|NAN)` +
		`|\.)$`)
	timestampLikeRE = regexp.MustCompile(`^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}`)
)

// TestNumberLike holds numberLike and timestampLike to the regular
// expressions: they may say true where the expression says false (quoting a
// string needlessly) but never the reverse.
func TestNumberLike(t *testing.T) {
	check := func(s string) {
		if numberLikeRE.MatchString(s) && !numberLike(s) {
			t.Errorf("numberLike(%q) = false; the string reads as a number", s)
		}
		if timestampLikeRE.MatchString(s) && !timestampLike(s) {
			t.Errorf("timestampLike(%q) = false; the string reads as a timestamp", s)
		}
	}
	alphabet := "0123456789_:.eE+-xXbBoOinfaINFnNA=Gv/"
	r := rand.New(rand.NewSource(1))
	for i := 0; i < 200000; i++ {
		n := 1 + r.Intn(8)
		b := make([]byte, n)
		for j := range b {
			b[j] = alphabet[r.Intn(len(alphabet))]
		}
		check(string(b))
	}
	for _, s := range scalarCases {
		check(s)
	}
}
