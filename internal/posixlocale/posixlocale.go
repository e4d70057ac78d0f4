// Package posixlocale makes Fyne read a C or POSIX locale with a codeset
// (LANG=C.UTF-8, the default of Debian servers and containers) as the plain
// C locale, so that no ImageBeam command prints Fyne's "Error parsing user
// locale C".
//
// Fyne's lang package asks go-locale for the user's languages in its
// package init and at run time (font fallback). go-locale reads LC_ALL,
// LC_MESSAGES and LANG, the first that is set, and treats only "C" and
// "POSIX" as the C locale: "C.UTF-8" reaches Fyne as the language "C",
// which does not parse, and Fyne logs three lines on stderr.
//
// This package's init fixes the environment of the process before that
// happens. It imports nothing but os, on purpose. Go initializes packages
// in the order of their import paths, each as soon as everything it
// imports is initialized: fyne.io/fyne/v2/lang imports log, log imports
// os, and this package, which needs only os, sorts before log
// ("imagebeam/…" < "log"). So it runs before log and therefore before
// Fyne's lang, whichever package imports it. One more import that log
// does not import itself (strings, or go-locale) could let log, and then
// Fyne, go first. TestHeadlessCommandsPrintNoLocaleError in package main
// checks the real binary; GODEBUG=inittrace=1 shows the order.
package posixlocale

import "os"

func init() { Fix(os.Getenv, os.Setenv) }

// Fix makes go-locale see the plain C locale when the messages locale is
// C or POSIX with a codeset or modifier. It changes nothing that a C
// program would notice:
//
//   - When LC_MESSAGES or LANG is the messages locale, it sets
//     LC_MESSAGES=C: the messages category of C.UTF-8 is C's.
//   - When LC_ALL is (it overrides LC_MESSAGES), it sets LANGUAGE=en, but
//     only when LANGUAGE is empty: gettext ignores LANGUAGE under the C
//     locale, go-locale does not. LC_ALL is left alone: it also sets the
//     character set that input methods need.
func Fix(getenv func(string) string, setenv func(string, string) error) {
	for _, name := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		v := getenv(name)
		if v == "" {
			continue
		}
		if !IsC(v) || v == "C" || v == "POSIX" {
			return // a real language, or a C locale go-locale already knows
		}
		if name == "LC_ALL" {
			if getenv("LANGUAGE") == "" {
				_ = setenv("LANGUAGE", "en")
			}
			return
		}
		_ = setenv("LC_MESSAGES", "C")
		return
	}
}

// IsC reports whether the locale name v is the C or POSIX locale, with or
// without a codeset or modifier: "C", "C.UTF-8", "C.utf8", "POSIX".
func IsC(v string) bool {
	for i := 0; i < len(v); i++ {
		if v[i] == '.' || v[i] == '@' {
			v = v[:i]
			break
		}
	}
	return v == "C" || v == "POSIX"
}
