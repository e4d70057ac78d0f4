//go:build !windows && !darwin

package gui

import (
	"os"
	"strings"

	"imagebeam/internal/posixlocale"
)

// systemLanguages are the user's languages, most wanted first, as gettext
// reads them: the messages locale (LC_ALL, LC_MESSAGES or LANG, the first
// that is set), preceded by LANGUAGE's list unless that locale is C or
// POSIX, which means English whatever LANGUAGE says.
func systemLanguages() []string {
	locale := ""
	for _, name := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		if locale = os.Getenv(name); locale != "" {
			break
		}
	}
	if locale == "" || posixlocale.IsC(locale) {
		return nil
	}
	var out []string
	if list := os.Getenv("LANGUAGE"); list != "" {
		out = strings.Split(list, ":")
	}
	return append(out, locale)
}
