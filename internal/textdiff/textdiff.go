// Package textdiff writes line diffs for golden-file failures and apply
// previews.
package textdiff

import (
	"fmt"
	"strings"
)

// Unified returns a unified diff of two texts, line by line, with three
// lines of context.
func Unified(want, got string) string {
	a := strings.SplitAfter(want, "\n")
	b := strings.SplitAfter(got, "\n")
	// Trim the common prefix and suffix, then diff the middle by LCS.
	pre := 0
	for pre < len(a) && pre < len(b) && a[pre] == b[pre] {
		pre++
	}
	suf := 0
	for suf < len(a)-pre && suf < len(b)-pre && a[len(a)-1-suf] == b[len(b)-1-suf] {
		suf++
	}
	am, bm := a[pre:len(a)-suf], b[pre:len(b)-suf]
	type op struct {
		kind byte
		line string
	}
	var ops []op
	if len(am)*len(bm) > 16_000_000 {
		for _, l := range am {
			ops = append(ops, op{'-', l})
		}
		for _, l := range bm {
			ops = append(ops, op{'+', l})
		}
	} else {
		lcs := make([][]int32, len(am)+1)
		for i := range lcs {
			lcs[i] = make([]int32, len(bm)+1)
		}
		for i := len(am) - 1; i >= 0; i-- {
			for j := len(bm) - 1; j >= 0; j-- {
				if am[i] == bm[j] {
					lcs[i][j] = lcs[i+1][j+1] + 1
				} else {
					lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
				}
			}
		}
		i, j := 0, 0
		for i < len(am) || j < len(bm) {
			switch {
			case i < len(am) && j < len(bm) && am[i] == bm[j]:
				ops = append(ops, op{' ', am[i]})
				i++
				j++
			case j < len(bm) && (i == len(am) || lcs[i][j+1] >= lcs[i+1][j]):
				ops = append(ops, op{'+', bm[j]})
				j++
			default:
				ops = append(ops, op{'-', am[i]})
				i++
			}
		}
	}
	var out strings.Builder
	ctxStart := max(0, pre-3)
	fmt.Fprintf(&out, "@@ -%d +%d @@\n", ctxStart+1, ctxStart+1)
	for _, l := range a[ctxStart:pre] {
		out.WriteString(" " + ensureNL(l))
	}
	for _, o := range ops {
		out.WriteString(string(o.kind) + ensureNL(o.line))
	}
	for k, l := range a[len(a)-suf:] {
		if k == 3 {
			break
		}
		out.WriteString(" " + ensureNL(l))
	}
	return out.String()
}

func ensureNL(s string) string {
	if strings.HasSuffix(s, "\n") {
		return s
	}
	return s + "\n"
}
