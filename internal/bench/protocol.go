package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"

	"colachat/internal/sioclient"
)

// protocol is what differs between the Cola Chat app and the plain broadcast app.
type protocol interface {
	// prepareRooms returns one id per room, creating the rooms on the server when needed.
	prepareRooms(ctx context.Context, cfg *config) ([]string, error)
	// dialOptions adds what a member of room needs at connect time.
	dialOptions(room string, o *sioclient.Options)
	// joins reports whether members join with an event (else connecting is joining).
	joins() bool
	// join makes a connected client a member of its room; it returns when the server confirms.
	join(ctx context.Context, c *sioclient.Client, room string) error
	// event is the event name messages are sent and delivered with.
	event() string
	// messageArg is the argument of one sent message.
	messageArg(room, content string) any
	// ackOK reports whether a message's ack says it was accepted, with the reason if not.
	ackOK(args sioclient.Args) (bool, string)
	// deliveredContent extracts the content of a delivered message.
	deliveredContent(args sioclient.Args) ([]byte, bool)
}

// envelope is the Cola Chat answer to every REST call and ack.
type envelope struct {
	Success bool            `json:"success"`
	Message string          `json:"message"`
	Code    string          `json:"code"`
	Data    json.RawMessage `json:"data"`
}

// chatProtocol speaks the Cola Chat contract: REST room creation, joinRoom, sendMessage.
type chatProtocol struct {
	http *http.Client
}

func (p chatProtocol) prepareRooms(ctx context.Context, cfg *config) ([]string, error) {
	ids := make([]string, cfg.rooms)
	errs := make([]error, cfg.rooms)
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i := range ids {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			ids[i], errs[i] = p.createRoom(ctx, cfg.urls[i%len(cfg.urls)], cfg.namespace, i, cfg.capacity)
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return ids, nil
}

func (p chatProtocol) createRoom(ctx context.Context, base, namespace string, i, capacity int) (string, error) {
	body, err := json.Marshal(map[string]any{
		"namespace":  trimSlash(namespace),
		"title":      "bench " + strconv.Itoa(i),
		"capacity":   capacity,
		"isPassword": false,
	})
	if err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/chat/rooms", bytes.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("create room: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := p.http.Do(req)
	if err != nil {
		return "", fmt.Errorf("create room: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", fmt.Errorf("create room: %w", err)
	}
	var env envelope
	if err := json.Unmarshal(b, &env); err != nil || !env.Success {
		return "", fmt.Errorf("create room: HTTP %d: %.200s", resp.StatusCode, b)
	}
	var room struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(env.Data, &room); err != nil || room.ID == "" {
		return "", fmt.Errorf("create room: no id in %.200s", b)
	}
	return room.ID, nil
}

func (chatProtocol) dialOptions(string, *sioclient.Options) {}

func (chatProtocol) joins() bool { return true }

func (chatProtocol) join(ctx context.Context, c *sioclient.Client, room string) error {
	args, err := c.EmitWithAck(ctx, "joinRoom", json.RawMessage(`{"roomId":`+strconv.Quote(room)+`,"chatterId":null}`))
	if err != nil {
		return err
	}
	if ok, why := (chatProtocol{}).ackOK(args); !ok {
		return fmt.Errorf("joinRoom refused: %s", why)
	}
	return nil
}

func (chatProtocol) event() string { return "sendMessage" }

func (chatProtocol) messageArg(room, content string) any {
	// Room ids and contents are plain ASCII without quotes: strconv.Quote is valid JSON here.
	return json.RawMessage(`{"roomId":` + strconv.Quote(room) + `,"content":` + strconv.Quote(content) + `}`)
}

func (chatProtocol) ackOK(args sioclient.Args) (bool, string) {
	var env envelope
	if err := args.Decode(0, &env); err != nil {
		return false, err.Error()
	}
	if !env.Success {
		return false, env.Code + " " + env.Message
	}
	return true, ""
}

var contentKey = []byte(`"content":"`)

func (chatProtocol) deliveredContent(args sioclient.Args) ([]byte, bool) {
	if len(args) == 0 {
		return nil, false
	}
	// A Message object; finding the field beats decoding the whole object on the client's CPU.
	m := args[0]
	i := bytes.Index(m, contentKey)
	if i < 0 {
		return nil, false
	}
	m = m[i+len(contentKey):]
	j := bytes.IndexByte(m, '"')
	if j < 0 {
		return nil, false
	}
	return m[:j], true
}

// rawProtocol speaks the minimal broadcast app of bench/: a client joins room "r<k>" given as the
// handshake query parameter "room"; event "bcast" with a string is acked and broadcast to the room.
type rawProtocol struct{}

func (rawProtocol) prepareRooms(_ context.Context, cfg *config) ([]string, error) {
	ids := make([]string, cfg.rooms)
	for i := range ids {
		ids[i] = "r" + strconv.Itoa(i)
	}
	return ids, nil
}

func (rawProtocol) dialOptions(room string, o *sioclient.Options) {
	o.Query = url.Values{"room": {room}}
}

func (rawProtocol) joins() bool { return false }

func (rawProtocol) join(context.Context, *sioclient.Client, string) error { return nil }

func (rawProtocol) event() string { return "bcast" }

func (rawProtocol) messageArg(_, content string) any { return content }

func (rawProtocol) ackOK(sioclient.Args) (bool, string) { return true, "" }

func (rawProtocol) deliveredContent(args sioclient.Args) ([]byte, bool) {
	if len(args) == 0 || len(args[0]) < 2 || args[0][0] != '"' {
		return nil, false
	}
	return args[0][1 : len(args[0])-1], true
}

func trimSlash(s string) string {
	for len(s) > 0 && s[0] == '/' {
		s = s[1:]
	}
	return s
}
