package app

import (
	"net/http"
	"strings"
	"testing"
)

func TestMetricsEndpoint(t *testing.T) {
	base, stop := started(t, nil)
	defer http.DefaultClient.CloseIdleConnections()
	get(t, "POST", base+"/chat/rooms", `{"namespace":"anonymous","title":"m","capacity":2,"isPassword":false}`)
	get(t, "GET", base+"/chat/rooms", "")
	resp, body := get(t, "GET", base+"/metrics", "")
	if resp.StatusCode != 200 {
		t.Fatalf("got %d, want 200", resp.StatusCode)
	}
	for _, want := range []string{
		`colachat_http_requests_total{method="GET",route="GET /chat/rooms",status="200"} 1`,
		`colachat_http_requests_total{method="POST",route="POST /chat/rooms",status="201"} 1`,
		"colachat_store_commit_latency_seconds_bucket",
		"go_goroutines",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}
