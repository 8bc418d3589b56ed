// Package figure formats measured values for people: verdicts, events and
// the rollout's messages write them the same way.
package figure

import "fmt"

// Format formats a value with its unit: "99.1%", "412 ms", "0.35 s".
func Format(v float64, unit string) string {
	s := fmt.Sprintf("%.4g", v)
	switch unit {
	case "":
		return s
	case "%":
		return s + "%"
	}
	return s + " " + unit
}
