package httpapi

import (
	"errors"
	"net"
	"net/http"
	"net/netip"
	"runtime/debug"
	"slices"
	"strings"

	"colachat/internal/chat"
)

// originSet is the CORS allow-list.
type originSet struct {
	any     bool
	origins map[string]bool
}

func newOriginSet(list []string) originSet {
	s := originSet{origins: map[string]bool{}}
	for _, o := range list {
		if o == "*" {
			s.any = true
			continue
		}
		s.origins[strings.TrimSuffix(strings.ToLower(o), "/")] = true
	}
	return s
}

func (s originSet) allows(origin string) bool {
	return origin != "" && (s.any || s.origins[strings.ToLower(origin)])
}

// Methods and headers a browser may use cross-origin.
const (
	corsMethods = "GET, POST, PATCH, OPTIONS"
	corsHeaders = "Content-Type, Authorization"
	corsMaxAge  = "600"
)

// cors answers preflights and marks responses to allowed origins. The origin is echoed
// (never "*") because the original client sends credentials.
func (a *API) cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Add("Vary", "Origin")
		origin := r.Header.Get("Origin")
		allowed := a.origins.allows(origin)
		if allowed {
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Credentials", "true")
		}
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			h.Add("Vary", "Access-Control-Request-Method")
			h.Add("Vary", "Access-Control-Request-Headers")
			if !allowed {
				a.writeEnvelope(w, http.StatusForbidden, routeFailure(codeOriginNotAllowed, a.opts.Locale))
				return
			}
			h.Set("Access-Control-Allow-Methods", corsMethods)
			h.Set("Access-Control-Allow-Headers", corsHeaders)
			h.Set("Access-Control-Max-Age", corsMaxAge)
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// limit refuses clients over the per-IP rate with 429, except exempt networks.
func (a *API) limit(next http.Handler) http.Handler {
	if a.opts.Limiter == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ip, ok := ClientIP(r)
		if ok && !exempt(a.opts.Exempt, ip) && !a.opts.Limiter.Allow(ip.String()) {
			w.Header().Set("Retry-After", "1")
			a.fail(w, r, &chat.Error{Code: chat.CodeRateLimited})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// ClientIP is the IP of the peer that sent r (proxies are not trusted).
func ClientIP(r *http.Request) (netip.Addr, bool) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, false
	}
	return ip.Unmap().WithZone(""), true
}

func exempt(nets []netip.Prefix, ip netip.Addr) bool {
	return slices.ContainsFunc(nets, func(p netip.Prefix) bool { return p.Contains(ip) })
}

// recoverPanics turns a handler panic into a logged 500 envelope instead of a dropped
// connection.
func (a *API) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if err, ok := v.(error); ok && errors.Is(err, http.ErrAbortHandler) {
				panic(v)
			}
			a.log.Error("handler panic", "method", r.Method, "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
			a.writeEnvelope(w, http.StatusInternalServerError, internalFailure(a.opts.Locale))
		}()
		next.ServeHTTP(w, r)
	})
}
