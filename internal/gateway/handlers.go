package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"colachat/internal/chat"
	"colachat/internal/socketio"
	"colachat/internal/wire"
)

// handler handles one event and returns the ack's data (nil → null) or a refusal.
type handler func(ctx context.Context, s *socketio.Socket, c *conn, args socketio.Args) (any, error)

// handle wraps h: every event is answered through its ack with the envelope, and a refusal is
// also emitted as a "message" event carrying the envelope as a JSON string (what the
// original client listens for).
func (g *Gateway) handle(h handler) socketio.Handler {
	return func(s *socketio.Socket, args socketio.Args, ack socketio.AckFunc) {
		if !s.Connected() {
			return
		}
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
		defer cancel()
		data, err := h(ctx, s, g.conn(s), args)
		if ack != nil && g.opts.ObserveAck != nil {
			// Observed before the ack goes out, so a client that has its ack sees it counted.
			g.opts.ObserveAck(time.Since(start))
		}
		if err != nil {
			g.refuse(s, ack, err)
			return
		}
		switch {
		case ack == nil:
		case data == nil:
			ack(g.okNull)
		default:
			ack(wire.OK(data))
		}
	}
}

func (g *Gateway) refuse(s *socketio.Socket, ack socketio.AckFunc, err error) {
	if chat.CodeOf(err) == chat.CodeInternal {
		g.log.Error("socket event failed", "nsp", s.Namespace().Name(), "sid", s.ID(), "err", err)
	}
	env, _ := wire.Fail(err, g.opts.Locale)
	if ack != nil {
		ack(env)
	}
	text, mErr := json.Marshal(env)
	if mErr != nil {
		return
	}
	_ = s.Emit("message", string(text))
}

func badRequest(detail string) error { return &chat.Error{Code: chat.CodeBadRequest, Detail: detail} }

var errRateLimited = &chat.Error{Code: chat.CodeRateLimited}

// decode reads argument 0, which must be a JSON object, into v.
func decode(args socketio.Args, v any) error {
	raw := args.Raw(0)
	if len(raw) == 0 || raw[0] != '{' {
		return badRequest("payload: want an object")
	}
	if err := json.Unmarshal(raw, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return badRequest(te.Field + ": wrong type")
		}
		return badRequest("payload: not valid JSON")
	}
	return nil
}

// roomPayload is {roomId} and the fields some events add.
type roomPayload struct {
	RoomID    string `json:"roomId"`
	ChatterID string `json:"chatterId"`
	Token     string `json:"token"`
	Password  string `json:"password"`
	Ticket    string `json:"ticket"`
	Content   string `json:"content"`
	Locale    string `json:"locale"`
}

func (p roomPayload) needRoom() error {
	if p.RoomID == "" {
		return badRequest("roomId: required")
	}
	return nil
}

func (g *Gateway) allowJoin(s *socketio.Socket, c *conn) bool {
	return c.allow(&c.joins, g.opts.JoinLimit) && g.allowIP(g.ipJoinLimit, s)
}

func (g *Gateway) allowMessage(s *socketio.Socket, c *conn) bool {
	return c.allow(&c.messages, g.opts.MessageLimit) && g.allowIP(g.ipMessageLimit, s)
}

// joinRoom: {roomId, chatterId, token?, password?, ticket?, locale?} → the Chatter with its
// token.
func (g *Gateway) joinRoom(ctx context.Context, s *socketio.Socket, c *conn, args socketio.Args) (any, error) {
	var p roomPayload
	if err := decode(args, &p); err != nil {
		return nil, err
	}
	if err := p.needRoom(); err != nil {
		return nil, err
	}
	if !g.allowJoin(s, c) {
		return nil, errRateLimited
	}
	// The socket changing identity in a room leaves as the previous chatter first.
	if old, ok := c.member(p.RoomID); ok && old.ChatterID != p.ChatterID {
		g.leave(ctx, s, c, p.RoomID)
	}
	var admitted *chat.Chatter
	ch, token, err := g.svc.Join(ctx, chat.JoinInput{
		Namespace: s.Namespace().Name(), RoomID: p.RoomID, ChatterID: p.ChatterID,
		Token: p.Token, Password: p.Password, Ticket: p.Ticket, ConnID: c.id,
		Locale: joinerLocale(s, p.Locale),
		Admitted: func(ch chat.Chatter) {
			admitted = &ch
			s.Join(p.RoomID)
		},
	})
	if err != nil {
		if admitted != nil { // admitted, then failed: give the seat back
			s.Leave(p.RoomID)
			if lerr := g.svc.Leave(ctx, p.RoomID, admitted.ID, c.id); lerr != nil {
				g.log.Warn("undo join", "room", p.RoomID, "err", lerr)
			}
		}
		return nil, err
	}
	c.set(p.RoomID, membership{ChatterID: ch.ID})
	out := wire.FromChatter(ch)
	out.Token = token
	return out, nil
}

// joinerLocale is the language a joiner asked for: its joinRoom's locale, else its
// handshake's Accept-Language (a browser sends it), else "" (the server's).
func joinerLocale(s *socketio.Socket, asked string) string {
	if l := chat.NormalizeLocale(asked); l != "" {
		return l
	}
	return wire.AcceptedLocale(s.Handshake().Header.Get("Accept-Language"))
}

// leaveRoom: {roomId} leaves that room; no payload leaves every room of the socket.
func (g *Gateway) leaveRoom(ctx context.Context, s *socketio.Socket, c *conn, args socketio.Args) (any, error) {
	if raw := args.Raw(0); len(raw) > 0 && string(raw) != "null" {
		var p roomPayload
		if err := decode(args, &p); err != nil {
			return nil, err
		}
		if p.RoomID != "" {
			g.leave(ctx, s, c, p.RoomID)
			return nil, nil
		}
	}
	for _, r := range c.takeAll() {
		g.leaveTaken(ctx, s, c, r.roomID, r.membership)
	}
	return nil, nil
}

// leave takes the socket out of one room, as on disconnect.
func (g *Gateway) leave(ctx context.Context, s *socketio.Socket, c *conn, roomID string) {
	m, ok := c.remove(roomID)
	if !ok {
		return
	}
	g.leaveTaken(ctx, s, c, roomID, m)
}

func (g *Gateway) leaveTaken(ctx context.Context, s *socketio.Socket, c *conn, roomID string, m membership) {
	s.Leave(roomID)
	if err := g.svc.Leave(ctx, roomID, m.ChatterID, c.id); err != nil {
		g.log.Warn("leave room", "room", roomID, "err", err)
	}
}

// sendMessage: {roomId, content} → null once stored; the message reaches the room
// (sender included) as "sendMessage".
func (g *Gateway) sendMessage(ctx context.Context, s *socketio.Socket, c *conn, args socketio.Args) (any, error) {
	in, err := g.sendInput(s, c, args)
	if err != nil {
		return nil, err
	}
	_, err = g.svc.Send(ctx, in)
	return nil, err
}

// sendAlert: only the client's echo of its own rename notice is accepted (B5).
func (g *Gateway) sendAlert(ctx context.Context, s *socketio.Socket, c *conn, args socketio.Args) (any, error) {
	in, err := g.sendInput(s, c, args)
	if err != nil {
		return nil, err
	}
	return nil, g.svc.ClientAlert(ctx, in)
}

func (g *Gateway) sendInput(s *socketio.Socket, c *conn, args socketio.Args) (chat.SendInput, error) {
	var p roomPayload
	if err := decode(args, &p); err != nil {
		return chat.SendInput{}, err
	}
	if err := p.needRoom(); err != nil {
		return chat.SendInput{}, err
	}
	if !g.allowMessage(s, c) {
		return chat.SendInput{}, errRateLimited
	}
	m, _ := c.member(p.RoomID)
	return chat.SendInput{Namespace: s.Namespace().Name(), RoomID: p.RoomID, ChatterID: m.ChatterID, Content: p.Content}, nil
}

// returnChatters: {roomId} → broadcasts the room's online chatters to the room (in a room
// above 100 people: sends them to the asker only).
func (g *Gateway) returnChatters(ctx context.Context, s *socketio.Socket, c *conn, args socketio.Args) (any, error) {
	var p roomPayload
	if err := decode(args, &p); err != nil {
		return nil, err
	}
	if err := p.needRoom(); err != nil {
		return nil, err
	}
	if !g.allowMessage(s, c) {
		return nil, errRateLimited
	}
	list, err := g.svc.RequestOnline(ctx, p.RoomID)
	if err != nil || list == nil {
		return nil, err
	}
	// A big room's list comes to the asker alone.
	raw, err := json.Marshal(wire.FromChatters(list))
	if err != nil {
		return nil, err
	}
	return nil, s.Emit("returnChatters", json.RawMessage(raw))
}

// typing: {roomId} → "typing" to the rest of the room, at most one per 2 s per chatter.
func (g *Gateway) typing(ctx context.Context, s *socketio.Socket, c *conn, args socketio.Args) (any, error) {
	var p roomPayload
	if err := decode(args, &p); err != nil {
		return nil, err
	}
	if err := p.needRoom(); err != nil {
		return nil, err
	}
	// No message budget taken: the service relays one per 2 s and drops the rest cheaply.
	m, _ := c.member(p.RoomID)
	return nil, g.svc.Typing(ctx, p.RoomID, m.ChatterID)
}

// onConnection registers the socket; a recovered one rejoins its rooms (its leave may have
// become final meanwhile) with the memberships its state kept.
func (g *Gateway) onConnection(s *socketio.Socket) {
	if !s.Recovered() {
		return // its conn is made on its first event
	}
	var rooms map[string]membership
	if err := s.Decode(stateKey, &rooms); err != nil || len(rooms) == 0 {
		return
	}
	c := g.conn(s) // rebuilt below from the rooms rejoined
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	for roomID, m := range rooms {
		_, _, err := g.svc.Join(ctx, chat.JoinInput{
			Namespace: s.Namespace().Name(), RoomID: roomID, ChatterID: m.ChatterID,
			ConnID: c.id, Resume: true,
		})
		if err != nil {
			s.Leave(roomID)
			g.refuse(s, nil, err)
			continue
		}
		c.set(roomID, m)
	}
}

// onDisconnect leaves every room the socket had joined.
func (g *Gateway) onDisconnect(s *socketio.Socket, _ string) {
	c := g.dropConn(s)
	if c == nil {
		return
	}
	rooms := c.disconnect()
	// Handed to the socket for its recovery session, saved after this handler.
	s.Set(stateKey, c)
	if len(rooms) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	for _, r := range rooms {
		if err := g.svc.Leave(ctx, r.roomID, r.ChatterID, c.id); err != nil {
			g.log.Warn("leave on disconnect", "room", r.roomID, "err", err)
		}
	}
}
