package sigma

import (
	"embed"
)

// builtinFS holds trailhound's own rules (Sigma YAML, builtin/*.yml): the leaked-key
// playbook. Their author is trailhound; they are this project's own work.
//
//go:embed builtin/*.yml
var builtinFS embed.FS

// Builtin returns trailhound's own rules, sources named builtin:FILE.
func Builtin() ([]*Rule, []Problem) {
	rules, probs := LoadFS(builtinFS, "builtin", "builtin:")
	for _, r := range rules {
		r.Builtin = true
	}
	return rules, probs
}
