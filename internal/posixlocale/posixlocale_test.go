package posixlocale

import "testing"

func TestFixMakesGoLocaleSeeThePlainCLocale(t *testing.T) {
	for _, c := range []struct {
		name string
		env  map[string]string
		want map[string]string // variables set by Fix
	}{
		{"LANG=C.UTF-8", map[string]string{"LANG": "C.UTF-8"}, map[string]string{"LC_MESSAGES": "C"}},
		{"LANG=C.utf8", map[string]string{"LANG": "C.utf8"}, map[string]string{"LC_MESSAGES": "C"}},
		{"LANG=POSIX.UTF-8", map[string]string{"LANG": "POSIX.UTF-8"}, map[string]string{"LC_MESSAGES": "C"}},
		{"LC_MESSAGES=C.UTF-8 over LANG", map[string]string{"LC_MESSAGES": "C.UTF-8", "LANG": "zh_CN.UTF-8"}, map[string]string{"LC_MESSAGES": "C"}},
		{"LANG=C.UTF-8 with LANGUAGE", map[string]string{"LANG": "C.UTF-8", "LANGUAGE": "zh_CN"}, map[string]string{"LC_MESSAGES": "C"}},
		{"LC_ALL=C.UTF-8", map[string]string{"LC_ALL": "C.UTF-8", "LANG": "zh_CN.UTF-8"}, map[string]string{"LANGUAGE": "en"}},
		{"LC_ALL=C.UTF-8 with LANGUAGE", map[string]string{"LC_ALL": "C.UTF-8", "LANGUAGE": "de"}, nil},
		{"LANG=C", map[string]string{"LANG": "C"}, nil},
		{"LANG=POSIX", map[string]string{"LANG": "POSIX"}, nil},
		{"nothing set", map[string]string{}, nil},
		{"LANG=zh_CN.UTF-8", map[string]string{"LANG": "zh_CN.UTF-8"}, nil},
		{"LC_ALL=en_GB.UTF-8 over LANG=C.UTF-8", map[string]string{"LC_ALL": "en_GB.UTF-8", "LANG": "C.UTF-8"}, nil},
		{"LANG=Ca_ES.UTF-8 is not C", map[string]string{"LANG": "ca_ES.UTF-8"}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			set := map[string]string{}
			Fix(func(k string) string { return c.env[k] },
				func(k, v string) error { set[k] = v; return nil })
			if len(set) != len(c.want) {
				t.Fatalf("set %v, want %v", set, c.want)
			}
			for k, v := range c.want {
				if set[k] != v {
					t.Errorf("set %v, want %v", set, c.want)
				}
			}
		})
	}
}
