package app

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"colachat/internal/config"
	"colachat/internal/sioclient"
)

type ackEnvelope struct {
	Success bool            `json:"success"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data"`
	Code    string          `json:"code"`
}

func emit(t *testing.T, ctx context.Context, c *sioclient.Client, event string, payload any) ackEnvelope {
	t.Helper()
	args, err := c.EmitWithAck(ctx, event, payload)
	if err != nil {
		t.Fatalf("%s: %v", event, err)
	}
	var env ackEnvelope
	if err := args.Decode(0, &env); err != nil {
		t.Fatalf("%s ack: %v", event, err)
	}
	return env
}

// TestChatOverSocketAndREST drives the wired node end to end: a room made over REST, a
// chatter joining and sending over Socket.IO, the broadcast coming back, the history and
// the rename over REST with the chatter's token, then a graceful stop with the socket open.
func TestChatOverSocketAndREST(t *testing.T) {
	base, stop := started(t, nil)
	defer http.DefaultClient.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second) // a guard, not an assertion
	defer cancel()

	roomID := createRoom(t, base)

	messages := make(chan string, 8)
	c, err := sioclient.Dial(ctx, sioclient.Options{URL: base, Namespace: "/anonymous"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.On("sendMessage", func(a sioclient.Args) {
		var m struct {
			Content string `json:"content"`
		}
		if a.Decode(0, &m) == nil {
			messages <- m.Content
		}
	})

	join := emit(t, ctx, c, "joinRoom", map[string]any{"roomId": roomID, "chatterId": nil})
	var chatter struct {
		ID    string `json:"id"`
		Token string `json:"token"`
	}
	if err := json.Unmarshal(join.Data, &chatter); !join.Success || err != nil || chatter.ID == "" || chatter.Token == "" {
		t.Fatalf("join: got %+v, want a chatter with a token", join)
	}
	if sent := emit(t, ctx, c, "sendMessage", map[string]any{"roomId": roomID, "content": "안녕하세요"}); !sent.Success {
		t.Fatalf("send: got %+v, want success", sent)
	}
	select {
	case got := <-messages:
		if got != "안녕하세요" {
			t.Fatalf("got broadcast %q, want 안녕하세요", got)
		}
	case <-ctx.Done():
		t.Fatal("no sendMessage broadcast")
	}

	req, _ := http.NewRequest("GET", base+"/chat/messages/"+roomID+"/1/"+chatter.ID, nil)
	req.Header.Set("Authorization", "Bearer "+chatter.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var history ackEnvelope
	json.NewDecoder(resp.Body).Decode(&history)
	resp.Body.Close()
	if !history.Success || !strings.Contains(string(history.Data), "안녕하세요") || !strings.Contains(string(history.Data), "님이 입장했습니다.") {
		t.Fatalf("history: got %+v, want the join alert and the message", history)
	}

	req, _ = http.NewRequest("GET", base+"/chat/rooms/"+roomID+"/"+chatter.ID+"/reentry-check", nil)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var reentry ackEnvelope
	json.NewDecoder(resp.Body).Decode(&reentry)
	resp.Body.Close()
	if string(reentry.Data) != "true" {
		t.Fatalf("reentry-check while online: got %s, want true", reentry.Data)
	}

	if err := stop(); err != nil {
		t.Fatalf("stop with a socket open: %v", err)
	}
	select {
	case <-c.Done():
	case <-ctx.Done():
		t.Fatal("the socket stayed open after the stop")
	}
}

// TestPerIPMessageLimitSpansConnections: one client IP opening more connections gets no more
// messages through than its per-IP budget.
func TestPerIPMessageLimitSpansConnections(t *testing.T) {
	base, stop := started(t, func(c *config.Config) {
		c.IPMessageRate = config.Rate{Events: 1, Per: time.Hour, Burst: 3}
		c.MessageRate = config.Rate{} // per connection: off
	})
	defer http.DefaultClient.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second) // a guard, not an assertion
	defer cancel()
	roomID := createRoom(t, base)
	var codes []string
	for i := 0; i < 2; i++ {
		c, err := sioclient.Dial(ctx, sioclient.Options{URL: base, Namespace: "/anonymous"})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if env := emit(t, ctx, c, "joinRoom", map[string]any{"roomId": roomID, "chatterId": nil}); !env.Success {
			t.Fatalf("join: %+v", env)
		}
		for j := 0; j < 2; j++ {
			env := emit(t, ctx, c, "sendMessage", map[string]any{"roomId": roomID, "content": "hi"})
			codes = append(codes, env.Code)
		}
	}
	if want := []string{"", "", "", "RATE_LIMITED"}; strings.Join(codes, ",") != strings.Join(want, ",") {
		t.Fatalf("codes of 4 sends over 2 connections from one IP: got %q, want %q", codes, want)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}
