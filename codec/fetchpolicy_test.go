package codec

import (
	"errors"
	"net/netip"
	"testing"
)

func TestFetchPolicy(t *testing.T) {
	lab, err := ParseFetchPolicy([]string{"169.254.10.0/24"}, []string{"10.0.0.0/8,192.168.7.7", "169.254.10.9"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		policy FetchPolicy
		addr   string
		ok     bool
	}{
		{FetchPolicy{}, "127.0.0.1", true},
		{FetchPolicy{}, "192.168.1.20", true},
		{FetchPolicy{}, "10.1.2.3", true},
		{FetchPolicy{}, "93.184.216.34", true},
		{FetchPolicy{}, "::1", true},
		{FetchPolicy{}, "169.254.169.254", false}, // cloud metadata
		{FetchPolicy{}, "::ffff:169.254.169.254", false},
		{FetchPolicy{}, "0.0.0.0", false},
		{FetchPolicy{}, "::", false},
		{FetchPolicy{}, "224.0.0.1", false},
		{FetchPolicy{}, "255.255.255.255", false},
		{FetchPolicy{}, "fe80::1", false},
		{FetchPolicy{}, "ff02::1", false},
		{FetchPolicy{}, "fd00:ec2::254", false},
		{FetchPolicy{}, "100.100.100.200", false},
		{lab, "169.254.10.20", true},    // opened by --fetch-allow
		{lab, "169.254.10.9", false},    // a /32 deny inside the allowed /24
		{lab, "169.254.169.254", false}, // still closed
		{lab, "10.20.30.40", false},     // closed by --fetch-deny
		{lab, "192.168.7.7", false},     // a single address
		{lab, "192.168.7.8", true},
	} {
		err := c.policy.Check(netip.MustParseAddr(c.addr))
		if (err == nil) != c.ok {
			t.Errorf("%v: Check(%s) = %v, want allowed %v", c.policy, c.addr, err, c.ok)
		}
		if err != nil && (!errors.Is(err, ErrFetchPolicy) || !errors.Is(err, ErrFetch)) {
			t.Errorf("Check(%s) = %v: not ErrFetchPolicy and ErrFetch", c.addr, err)
		}
	}
	if _, err := ParseFetchPolicy([]string{"10.0.0.0/33"}, nil); !errors.Is(err, ErrBadOptions) {
		t.Errorf("a bad range: %v, want ErrBadOptions", err)
	}
}
