package fieldpath

import (
	"testing"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

func TestSameAsFieldPath(t *testing.T) {
	root := field.NewPath("models").Index(3)
	cases := []struct {
		got  Path
		want *field.Path
	}{
		{Path{}, nil},
		{New("name"), field.NewPath("name")},
		{New("rules").Index(1).Child("match").Index(0).Child("headers").Key("x-user"), field.NewPath("rules").Index(1).Child("match").Index(0).Child("headers").Key("x-user")},
		{At(root).Child("traffic"), root.Child("traffic")},
		{At(nil).Child("a"), field.NewPath("a")},
		// Deeper than maxSteps: folded into a *field.Path on the way.
		{New("a").Index(0).Child("b").Index(1).Child("c").Index(2).Child("d").Index(3).Child("e").Key("k").Child("f"),
			field.NewPath("a").Index(0).Child("b").Index(1).Child("c").Index(2).Child("d").Index(3).Child("e").Key("k").Child("f")},
	}
	for _, c := range cases {
		if got, want := c.got.String(), c.want.String(); got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
	if n := New("labels").Name(); n != "labels" {
		t.Errorf("Name() = %q", n)
	}
	if n := New("labels").Key("a").Name(); n != "" {
		t.Errorf("Name() of a key step = %q", n)
	}
}

func TestNoAllocations(t *testing.T) {
	var sink int
	allocs := testing.AllocsPerRun(100, func() {
		p := New("versions").Index(2).Child("env").Index(1).Child("name")
		sink += int(p.n)
	})
	if allocs != 0 {
		t.Errorf("building a path allocated %v times", allocs)
	}
	_ = sink
}
