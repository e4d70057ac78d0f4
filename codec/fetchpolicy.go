package codec

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"syscall"
)

// ErrFetchPolicy means a URL resolves to an address that URL fetches may
// not reach (see FetchPolicy). It wraps ErrFetch.
var ErrFetchPolicy = fmt.Errorf("%w: the address is not allowed", ErrFetch)

// FetchPolicy decides which addresses URL fetches may connect to. It is
// checked on the address actually dialled, after DNS resolution, for the
// first request and every redirect, so neither a name that resolves to a
// forbidden address nor a redirect to one gets through.
//
// Without rules it refuses what a lab never serves images from and what an
// attacker wants most (a fetch URL given to `serve` by anyone who can reach
// it): unspecified, link-local (where clouds answer metadata requests,
// 169.254.169.254), multicast and broadcast addresses, and the other
// metadata addresses of common clouds. Loopback and private ranges are
// allowed: lab images come from lab servers. Allow and Deny open or close
// ranges; of the rules that match an address the most specific decides,
// Deny winning a tie, and they override the built-in list.
type FetchPolicy struct {
	Allow []netip.Prefix
	Deny  []netip.Prefix
}

// builtinDenied are refused unless an Allow rule opens them.
var builtinDenied = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),          // "this network", unspecified
	netip.MustParsePrefix("169.254.0.0/16"),     // link-local; AWS, GCP, Azure, OCI metadata
	netip.MustParsePrefix("224.0.0.0/4"),        // multicast
	netip.MustParsePrefix("240.0.0.0/4"),        // reserved, and broadcast
	netip.MustParsePrefix("100.100.100.200/32"), // Alibaba Cloud metadata
	netip.MustParsePrefix("192.0.0.192/32"),     // Oracle Cloud metadata (classic)
	netip.MustParsePrefix("::/128"),             // unspecified
	netip.MustParsePrefix("fe80::/10"),          // link-local
	netip.MustParsePrefix("ff00::/8"),           // multicast
	netip.MustParsePrefix("fd00:ec2::254/128"),  // AWS metadata over IPv6
}

// ParseFetchPolicy reads Allow and Deny from lists of CIDR ranges or single
// addresses ("10.0.0.0/8", "192.168.1.20"), as the --fetch-allow and
// --fetch-deny flags and the settings file give them; each list item may
// itself be comma-separated.
func ParseFetchPolicy(allow, deny []string) (FetchPolicy, error) {
	var p FetchPolicy
	var err error
	if p.Allow, err = parsePrefixes(allow); err != nil {
		return p, err
	}
	p.Deny, err = parsePrefixes(deny)
	return p, err
}

func parsePrefixes(items []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, item := range items {
		for _, s := range strings.Split(item, ",") {
			s = strings.TrimSpace(s)
			if s == "" {
				continue
			}
			if pfx, err := netip.ParsePrefix(s); err == nil {
				out = append(out, pfx.Masked())
				continue
			}
			addr, err := netip.ParseAddr(s)
			if err != nil {
				return nil, fmt.Errorf("%w: %q is not an address range such as 10.0.0.0/8 or an address", ErrBadOptions, s)
			}
			out = append(out, netip.PrefixFrom(addr.Unmap(), addr.Unmap().BitLen()))
		}
	}
	return out, nil
}

// Check returns nil when fetches may connect to addr, else an error
// wrapping ErrFetchPolicy that names the address and why.
func (p FetchPolicy) Check(addr netip.Addr) error {
	addr = addr.Unmap()
	best, bestDeny := -1, false
	for _, r := range p.Deny {
		if r.Contains(addr) && r.Bits() >= best {
			best, bestDeny = r.Bits(), true
		}
	}
	for _, r := range p.Allow {
		if r.Contains(addr) && r.Bits() > best {
			best, bestDeny = r.Bits(), false
		}
	}
	if best >= 0 {
		if bestDeny {
			return fmt.Errorf("%w: %s is in a range closed by --fetch-deny", ErrFetchPolicy, addr)
		}
		return nil
	}
	for _, r := range builtinDenied {
		if r.Contains(addr) {
			return fmt.Errorf("%w: %s is %s (open it with --fetch-allow %s if a lab server really is there)", ErrFetchPolicy, addr, kindOf(addr), r)
		}
	}
	return nil
}

func kindOf(a netip.Addr) string {
	switch {
	case a.IsUnspecified() || (a.Is4() && a.As4()[0] == 0):
		return "an unspecified address"
	case a.IsLinkLocalUnicast():
		return "a link-local address (where clouds serve metadata)"
	case a.IsMulticast():
		return "a multicast address"
	case a.Is4() && a.As4()[0] >= 240:
		return "a reserved or broadcast address"
	}
	return "a cloud metadata address"
}

// control is a net.Dialer Control function: it runs after DNS resolution,
// on the address about to be dialled.
func (p FetchPolicy) control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: cannot read the address %q", ErrFetchPolicy, address)
	}
	return p.Check(ap.Addr())
}

// checkHost resolves host and checks every address it has: for requests
// that go through a proxy, where the dialled address is the proxy's.
func (p FetchPolicy) checkHost(ctx context.Context, host string) error {
	if a, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		return p.Check(a)
	}
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil // the proxy resolves it; a name that does not resolve cannot reach anything
	}
	for _, a := range addrs {
		if err := p.Check(a); err != nil {
			return err
		}
	}
	return nil
}

// policyError finds the policy's refusal inside err (url.Error and
// net.OpError wrap it), or returns nil.
func policyError(err error) error {
	if !errors.Is(err, ErrFetchPolicy) {
		return nil
	}
	for {
		next := errors.Unwrap(err)
		if next == nil || next == ErrFetchPolicy || !errors.Is(next, ErrFetchPolicy) {
			return err
		}
		err = next
	}
}
