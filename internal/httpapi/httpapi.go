// Package httpapi serves the Cola Chat REST API under /chat: the original routes, with
// colachat's additions (tickets, bearer tokens, history cursors). Every answer, errors
// and unknown routes included, is the JSON envelope of package wire.
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"

	"colachat/internal/chat"
)

// Service is what the REST API asks of the chat service.
type Service interface {
	CreateRoom(ctx context.Context, in chat.CreateRoomInput) (chat.Room, error)
	Rooms(ctx context.Context) ([]chat.Room, error)
	RoomDetail(ctx context.Context, roomID string) (chat.Room, []chat.RoomChatter, error)
	OnlineCount(ctx context.Context, roomID string) (int, error)
	AccessCheck(ctx context.Context, roomID, password string) (allowed bool, ticket string, err error)
	ReentryCheck(ctx context.Context, roomID, chatterID string) (bool, error)
	History(ctx context.Context, q chat.HistoryQuery) ([]chat.Message, error)
	Rename(ctx context.Context, chatterID, token, nickname string) (chat.Chatter, error)
	Limits() chat.Limits
}

// Limiter decides whether a client (keyed by its IP) may make one more request.
// *ratelimit.Limiter satisfies it.
type Limiter interface {
	Allow(key string) bool
}

// Options configure the handler.
type Options struct {
	Locale      string   // "ko" (default) or "en": language of error texts
	CORSOrigins []string // origins allowed with credentials; "*" allows any
	Limiter     Limiter  // per-IP limit; nil means none
	Exempt      []netip.Prefix
	Log         *slog.Logger
}

// MaxBody is the largest request body accepted.
const MaxBody = 16 << 10

// API is the REST handler.
type API struct {
	svc     Service
	opts    Options
	log     *slog.Logger
	mux     *http.ServeMux
	origins originSet
	handler http.Handler
}

// New returns the REST API over svc.
func New(svc Service, opts Options) *API {
	if opts.Locale == "" {
		opts.Locale = "ko"
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a := &API{svc: svc, opts: opts, log: log, mux: http.NewServeMux(), origins: newOriginSet(opts.CORSOrigins)}
	a.routes()
	a.handler = a.recoverPanics(a.cors(a.limit(http.HandlerFunc(a.dispatch))))
	return a
}

// ServeHTTP serves requests under /chat/ (it answers any other path with a 404 envelope).
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.handler.ServeHTTP(w, r) }

func (a *API) routes() {
	a.mux.HandleFunc("POST /chat/rooms", a.createRoom)
	a.mux.HandleFunc("GET /chat/rooms", a.listRooms)
	a.mux.HandleFunc("GET /chat/limits", a.limits)
	a.mux.HandleFunc("GET /chat/rooms/{roomId}", a.roomDetail)
	a.mux.HandleFunc("POST /chat/rooms/{roomId}/access-check", a.accessCheck)
	a.mux.HandleFunc("GET /chat/rooms/{roomId}/{chatterId}/reentry-check", a.reentryCheck)
	a.mux.HandleFunc("GET /chat/messages/{roomId}/{page}", a.history)
	a.mux.HandleFunc("GET /chat/messages/{roomId}/{page}/{chatterId}", a.history)
	a.mux.HandleFunc("PATCH /chat/chatters/{chatterId}/nickname", a.rename)
}

// dispatch routes through the mux, answering unmatched paths and methods with envelopes
// instead of the mux's plain-text 404 and 405.
func (a *API) dispatch(w http.ResponseWriter, r *http.Request) {
	h, pattern := a.mux.Handler(r)
	if pattern != "" {
		a.mux.ServeHTTP(w, r) // sets r.Pattern and the path values
		return
	}
	probe := &statusProbe{header: http.Header{}}
	h.ServeHTTP(probe, r)
	if probe.status == http.StatusMethodNotAllowed {
		w.Header().Set("Allow", probe.header.Get("Allow"))
		a.writeEnvelope(w, http.StatusMethodNotAllowed, routeFailure(codeMethodNotAllowed, a.opts.Locale))
		return
	}
	a.writeEnvelope(w, http.StatusNotFound, routeFailure(codeNotFound, a.opts.Locale))
}

// statusProbe records what the mux's own 404/405 handler would answer, writing nothing.
type statusProbe struct {
	header http.Header
	status int
}

func (p *statusProbe) Header() http.Header { return p.header }
func (p *statusProbe) WriteHeader(code int) {
	if p.status == 0 {
		p.status = code
	}
}
func (p *statusProbe) Write(b []byte) (int, error) {
	p.WriteHeader(http.StatusOK)
	return len(b), nil
}
