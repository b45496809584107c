package app

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"colachat/internal/sioclient"
)

func TestMetricsEndpoint(t *testing.T) {
	base, stop := started(t, nil)
	defer http.DefaultClient.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second) // a guard, not an assertion
	defer cancel()
	roomID := createRoom(t, base)
	get(t, "GET", base+"/chat/rooms", "")

	// One chatter joins and sends: a connection, a room, a message in, its deliveries, two acks.
	c, err := sioclient.Dial(ctx, sioclient.Options{URL: base, Namespace: "/anonymous"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if env := emit(t, ctx, c, "joinRoom", map[string]any{"roomId": roomID, "chatterId": nil}); !env.Success {
		t.Fatalf("join: %+v", env)
	}
	if env := emit(t, ctx, c, "sendMessage", map[string]any{"roomId": roomID, "content": "hi"}); !env.Success {
		t.Fatalf("send: %+v", env)
	}

	resp, body := get(t, "GET", base+"/metrics", "")
	if resp.StatusCode != 200 {
		t.Fatalf("got %d, want 200", resp.StatusCode)
	}
	for _, want := range []string{
		`colachat_http_requests_total{method="GET",route="GET /chat/rooms",status="200"} 1`,
		`colachat_http_requests_total{method="POST",route="POST /chat/rooms",status="201"} 1`,
		"colachat_store_commit_latency_seconds_bucket",
		"colachat_connections 1",
		"colachat_rooms_active 1",
		"colachat_messages_in_total 1",
		"colachat_ack_latency_seconds_count 2",
		"colachat_queue_drops_total 0",
		"colachat_stream_gap_fills_total 0",
		"go_goroutines",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	// The join alert, the online list, the message and two acks at least.
	if !strings.Contains(body, "colachat_messages_out_total ") || strings.Contains(body, "colachat_messages_out_total 0\n") {
		t.Errorf("metrics: messages out not counted")
	}
	c.Close()
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}
