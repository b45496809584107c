package ratelimit

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// Exempt is a set of networks whose addresses are never limited.
type Exempt []netip.Prefix

// ParseExempt parses CIDRs ("10.0.0.0/8") or single addresses ("127.0.0.1").
func ParseExempt(cidrs []string) (Exempt, error) {
	var out Exempt
	for _, c := range cidrs {
		c = strings.TrimSpace(c)
		if c == "" {
			continue
		}
		if !strings.Contains(c, "/") {
			a, err := netip.ParseAddr(c)
			if err != nil {
				return nil, fmt.Errorf("exempt address %q: %w", c, err)
			}
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(c)
		if err != nil {
			return nil, fmt.Errorf("exempt network %q: %w", c, err)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// Contains reports whether addr is in one of the networks.
func (e Exempt) Contains(addr netip.Addr) bool {
	addr = addr.Unmap()
	for _, p := range e {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// HostAddr extracts the IP of a "host:port" (or bare host) remote address.
func HostAddr(remote string) (netip.Addr, error) {
	host := remote
	if h, _, err := net.SplitHostPort(remote); err == nil {
		host = h
	}
	a, err := netip.ParseAddr(strings.Trim(host, "[]"))
	if err != nil {
		return netip.Addr{}, fmt.Errorf("remote address %q: %w", remote, err)
	}
	return a.Unmap(), nil
}
