package redact

import (
	"errors"
	"testing"
)

func TestURLRemovesUserInfo(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"tcp://10.0.0.5:1883", "tcp://10.0.0.5:1883"},
		{"tcp://lab:s3cret@10.0.0.5:1883", "tcp://10.0.0.5:1883"},
		{"ssl://lab@broker.lab:8883", "ssl://broker.lab:8883"},
		{"https://tok3n@example.org/a.jpg?x=1", "https://example.org/a.jpg?x=1"},
		{"https://example.org/users/@me/a.jpg", "https://example.org/users/@me/a.jpg"},
		{"https://example.org/a.jpg?mail=a@b", "https://example.org/a.jpg?mail=a@b"},
		{"tcp://lab:p/ss@host:1883", "tcp://host:1883"},      // url.Parse refuses it
		{"tcp://lab:123#45@host:1883", "tcp://host:1883"},    // url.Parse reads a fragment
		{"tcp://lab:a?b@c@host:1883", "tcp://host:1883"},     // a query and two '@'
		{"tcp://lab:pw with space@host", "tcp://host"},       // refused by url.Parse
		{"not a url user:pw@host", "not a url user:pw@host"}, // no scheme: nothing to know
		{"", ""},
	} {
		if got := URL(c.in); got != c.want {
			t.Errorf("URL(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestSecretsReplacesEveryOccurrence(t *testing.T) {
	got := Secrets(`dial "tcp://u:hunter22@h": hunter22 refused`, "hunter22", "", "pw")
	if want := `dial "tcp://u:[redacted]@h": [redacted] refused`; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestTextRemovesEveryLogin(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"stat ftp://me:pw@127.0.0.1:1/a.jpg: no such file", "stat ftp://127.0.0.1:1/a.jpg: no such file"},
		{`broker "tcp://a:b@h:1" and "ssl://c@d:2" refused`, `broker "tcp://h:1" and "ssl://d:2" refused`},
		{"mail me@example.org", "mail me@example.org"},
		{"no URL here", "no URL here"},
	} {
		if got := Text(c.in); got != c.want {
			t.Errorf("Text(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestLineIsOneLineWithoutLogins(t *testing.T) {
	err := errors.New("cannot reach\n  tcp://lab:pw@10.0.0.5:1883:\tconnection refused ")
	if got, want := Line(err), "cannot reach tcp://10.0.0.5:1883: connection refused"; got != want {
		t.Fatalf("Line = %q, want %q", got, want)
	}
}
