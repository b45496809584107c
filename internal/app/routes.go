package app

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"colachat/internal/chat"
	"colachat/internal/httpapi"
	"colachat/internal/web"
	"colachat/internal/wire"
)

// routes lays out the HTTP surface:
//
//	/socket.io/          Socket.IO (Engine.IO polling and websocket)
//	/chat/...            REST API (every answer an envelope)
//	GET /chat/{roomId}   the UI's room page (a browser opening a room link)
//	/healthz /readyz /metrics
//	everything else      the embedded UI
func (a *App) routes(api http.Handler, sockets http.Handler, metricsHandler http.Handler) http.Handler {
	mux := http.NewServeMux()
	ui := web.Handler()
	mux.Handle("/socket.io/", sockets)
	mux.Handle("/chat/", api)
	mux.Handle("GET /chat/rooms", api)  // more specific than the UI's room page below
	mux.Handle("GET /chat/limits", api) // likewise
	mux.Handle("GET /chat/{roomId}", ui)
	mux.HandleFunc("GET /healthz", a.healthz)
	mux.HandleFunc("GET /readyz", a.readyz)
	mux.Handle("GET /metrics", metricsHandler)
	mux.Handle("/", ui)
	return a.meter.Middleware(mux)
}

func (a *App) healthz(w http.ResponseWriter, _ *http.Request) {
	writeEnvelope(w, http.StatusOK, wire.OK("ok"))
}

// readyTimeout bounds the store ping of a readiness probe.
const readyTimeout = 2 * time.Second

func (a *App) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	err := a.store.Ping(ctx)
	if err == nil && a.cluster != nil {
		err = a.cluster.Ping(ctx)
	}
	if err != nil {
		a.log.Warn("not ready", "err", err)
		env, _ := wire.Fail(&chat.Error{Code: chat.CodeInternal}, a.cfg.Locale)
		env.Code = "NOT_READY"
		writeEnvelope(w, http.StatusServiceUnavailable, env)
		return
	}
	writeEnvelope(w, http.StatusOK, wire.OK("ready"))
}

func writeEnvelope(w http.ResponseWriter, status int, env wire.Envelope) {
	body, _ := json.Marshal(env) // an envelope of strings and bools always encodes
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// limitHandshakes applies the per-IP limit to new Engine.IO sessions (requests without a
// sid); requests of an open session are never limited.
func (a *App) limitHandshakes(l httpapi.Limiter, next http.Handler) http.Handler {
	if l == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("sid") == "" {
			ip, ok := httpapi.ClientIP(r)
			if ok && !exempt(a.cfg, ip) && !l.Allow(ip.String()) {
				env, status := wire.Fail(&chat.Error{Code: chat.CodeRateLimited}, a.cfg.Locale)
				w.Header().Set("Retry-After", "1")
				writeEnvelope(w, status, env)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}
