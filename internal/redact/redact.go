// Package redact keeps secrets out of what ImageBeam prints: the user-info
// part of URLs (tcp://user:password@host, https://token@host/…) in logs,
// errors, events, HTTP answers and window labels.
package redact

import (
	"net/url"
	"regexp"
	"strings"
)

// URL returns raw with its user-info (user name and password) removed:
// "tcp://lab:pw@10.0.0.5:1883" becomes "tcp://10.0.0.5:1883". It also
// works on strings that url.Parse refuses or misreads (a password holding
// '/', '#' or '?'), since those are exactly the ones an error quotes. When
// in doubt it removes more, never less.
func URL(raw string) string {
	i := strings.Index(raw, "://")
	if i < 0 || !strings.Contains(raw[i+3:], "@") {
		return raw
	}
	rest := raw[i+3:]
	if u, err := url.Parse(raw); err == nil && !ambiguous(rest) {
		if u.User == nil {
			return raw // an '@' in the path or query, not a login
		}
		u.User = nil
		return u.String()
	}
	return raw[:i+3] + rest[strings.LastIndex(rest, "@")+1:]
}

// ambiguous reports a '?' or '#' in the authority with an '@' after it: a
// password holding one, which url.Parse reads as the start of a query or
// fragment, leaving the rest of the password in it.
func ambiguous(rest string) bool {
	auth := rest
	if j := strings.IndexByte(rest, '/'); j >= 0 {
		auth = rest[:j]
	}
	k := strings.IndexAny(auth, "?#")
	return k >= 0 && strings.Contains(rest[k:], "@")
}

// Secrets replaces every occurrence of each secret in s with "[redacted]":
// the last line of defence for text that came from elsewhere, such as a
// library's error that quoted what it was given. Secrets shorter than four
// characters are left alone: replacing them would mangle ordinary words.
func Secrets(s string, secrets ...string) string {
	for _, sec := range secrets {
		if len(sec) >= 4 {
			s = strings.ReplaceAll(s, sec, "[redacted]")
		}
	}
	return s
}

// loginInText matches the user-info of a URL inside free text: a scheme,
// "://", then anything up to an '@' that is not a space or a quote.
var loginInText = regexp.MustCompile(`(?i)\b([a-z][a-z0-9+.-]*://)[^\s@"'<>]*@`)

// Text removes the user-info of every URL in s, wherever it stands (an
// error that quotes a path that looks like a URL, a library's message): the
// last line of defence before text leaves the program.
func Text(s string) string {
	if !strings.Contains(s, "@") {
		return s
	}
	return loginInText.ReplaceAllString(s, "$1")
}

// Line is err's message as one line (every run of white space one space),
// through Text: how a command or an HTTP answer states an error.
func Line(err error) string {
	return Text(strings.Join(strings.Fields(err.Error()), " "))
}
