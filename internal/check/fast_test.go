package check

import (
	"fmt"
	"math/rand"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation"
)

// TestFastChecksAgree holds the fast checks to apimachinery's on random
// strings: the same verdict, and the same words when invalid.
func TestFastChecksAgree(t *testing.T) {
	pairs := []struct {
		name       string
		fast, slow func(string) []string
	}{
		{"DNS1123Label", DNS1123Label, validation.IsDNS1123Label},
		{"DNS1123Subdomain", DNS1123Subdomain, validation.IsDNS1123Subdomain},
		{"QualifiedName", QualifiedName, validation.IsQualifiedName},
		{"LabelValue", LabelValue, validation.IsValidLabelValue},
		{"HTTPHeaderName", HTTPHeaderName, validation.IsHTTPHeaderName},
		{"PortName", PortName, validation.IsValidPortName},
	}
	alphabet := "ab09Z-._/ :*"
	r := rand.New(rand.NewSource(1))
	strs := []string{"", "a", "-a", "a-", "v1", "app.kubernetes.io/name", "x/", "/x", "A", "a.b", "a..b", "x-model"}
	for i := 0; i < 50000; i++ {
		b := make([]byte, 1+r.Intn(12))
		for j := range b {
			b[j] = alphabet[r.Intn(len(alphabet))]
		}
		strs = append(strs, string(b))
	}
	long := make([]byte, 300)
	for i := range long {
		long[i] = 'a'
	}
	strs = append(strs, string(long[:15]), string(long[:16]), "a--b", "80", "http-80", string(long[:63]), string(long[:64]), string(long[:253]), string(long[:254]))
	for _, p := range pairs {
		for _, s := range strs {
			if got, want := fmt.Sprint(p.fast(s)), fmt.Sprint(p.slow(s)); got != want {
				t.Errorf("%s(%q) = %s, apimachinery says %s", p.name, s, got, want)
			}
		}
	}
}
