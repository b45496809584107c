package web

import (
	"bytes"
	"compress/gzip"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// assetPath finds a built file by extension, so the test follows the hashed names of the build.
func assetPath(t *testing.T, ext string) string {
	t.Helper()
	entries, err := fs.ReadDir(dist, "dist/assets")
	if err != nil {
		t.Fatalf("read embedded assets: %v", err)
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ext) {
			return "/assets/" + e.Name()
		}
	}
	t.Fatalf("no embedded asset ending in %s", ext)
	return ""
}

func get(t *testing.T, h http.Handler, method, target string, header map[string]string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func TestHandlerRoutes(t *testing.T) {
	h := Handler()
	js := assetPath(t, ".js")
	css := assetPath(t, ".css")
	tests := []struct {
		name, method, path string
		wantStatus         int
		wantType           string
		wantCache          string
		wantBody           string // a substring of the (uncompressed) body
	}{
		{"home", "GET", "/", 200, "text/html", cacheRevalidate, `<div id="app">`},
		{"room link", "GET", "/chat/7d1c2b8e-8a4e-4f0e-9b1a-3c9c1c8f0a11", 200, "text/html", cacheRevalidate, `<div id="app">`},
		{"index by name", "GET", "/index.html", 200, "text/html", cacheRevalidate, `<div id="app">`},
		{"unknown page renders the app with 404", "GET", "/no/such/page", 404, "text/html", cacheRevalidate, `<div id="app">`},
		{"script", "GET", js, 200, "javascript", cacheImmutable, "socket"},
		{"stylesheet", "GET", css, 200, "text/css", cacheImmutable, "--cola"},
		{"favicon", "GET", "/favicon.svg", 200, "image/svg+xml", cacheRevalidate, "<svg"},
		{"missing asset is not HTML", "GET", "/assets/index-missing.js", 404, "text/plain", "", "not found"},
		{"missing file with extension", "GET", "/robots.txt", 404, "text/plain", "", "not found"},
		{"post refused", "POST", "/", 405, "text/plain", "", "method not allowed"},
		{"head has headers only", "HEAD", "/", 200, "text/html", cacheRevalidate, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := get(t, h, tt.method, tt.path, nil)
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != tt.wantStatus {
				t.Fatalf("status: got %d, want %d", res.StatusCode, tt.wantStatus)
			}
			if ct := res.Header.Get("Content-Type"); !strings.Contains(ct, tt.wantType) {
				t.Errorf("Content-Type: got %q, want it to contain %q", ct, tt.wantType)
			}
			if got := res.Header.Get("Cache-Control"); tt.wantCache != "" && got != tt.wantCache {
				t.Errorf("Cache-Control: got %q, want %q", got, tt.wantCache)
			}
			if !strings.Contains(string(body), tt.wantBody) {
				t.Errorf("body: got %.120q, want it to contain %q", body, tt.wantBody)
			}
			if tt.method == "HEAD" && len(body) != 0 {
				t.Errorf("HEAD body: got %d bytes, want none", len(body))
			}
		})
	}
}

func TestPageSecurityHeaders(t *testing.T) {
	res := get(t, Handler(), "GET", "/chat/abc", nil)
	csp := res.Header.Get("Content-Security-Policy")
	for _, want := range []string{"script-src 'self'", "object-src 'none'", "frame-ancestors 'none'", "ws://example.com"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP: got %q, want it to contain %q", csp, want)
		}
	}
	if got := res.Header.Get("Referrer-Policy"); got != "no-referrer" {
		t.Errorf("Referrer-Policy: got %q, want no-referrer", got)
	}
	if got := res.Header.Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("X-Content-Type-Options: got %q, want nosniff", got)
	}
}

func TestGzipAndRevalidation(t *testing.T) {
	h := Handler()
	js := assetPath(t, ".js")
	plain := get(t, h, "GET", js, nil)
	plainBody, _ := io.ReadAll(plain.Body)
	if enc := plain.Header.Get("Content-Encoding"); enc != "" {
		t.Fatalf("Content-Encoding without Accept-Encoding: got %q, want none", enc)
	}

	zipped := get(t, h, "GET", js, map[string]string{"Accept-Encoding": "br, gzip"})
	if enc := zipped.Header.Get("Content-Encoding"); enc != "gzip" {
		t.Fatalf("Content-Encoding: got %q, want gzip", enc)
	}
	if v := zipped.Header.Get("Vary"); v != "Accept-Encoding" {
		t.Errorf("Vary: got %q, want Accept-Encoding", v)
	}
	zr, err := gzip.NewReader(zipped.Body)
	if err != nil {
		t.Fatalf("gzip reader: %v", err)
	}
	unzipped, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("gunzip: %v", err)
	}
	if !bytes.Equal(unzipped, plainBody) {
		t.Errorf("gunzipped body: got %d bytes, want the %d plain bytes", len(unzipped), len(plainBody))
	}
	if zipped.Header.Get("ETag") == plain.Header.Get("ETag") {
		t.Errorf("ETag: got the same %q for both encodings, want distinct", plain.Header.Get("ETag"))
	}

	refused := get(t, h, "GET", js, map[string]string{"Accept-Encoding": "gzip;q=0"})
	if enc := refused.Header.Get("Content-Encoding"); enc != "" {
		t.Errorf("Content-Encoding with gzip;q=0: got %q, want none", enc)
	}

	again := get(t, h, "GET", js, map[string]string{"If-None-Match": plain.Header.Get("ETag")})
	if again.StatusCode != http.StatusNotModified {
		t.Errorf("revalidation: got %d, want 304", again.StatusCode)
	}
	stale := get(t, h, "GET", js, map[string]string{"If-None-Match": `"other"`})
	if stale.StatusCode != http.StatusOK {
		t.Errorf("stale ETag: got %d, want 200", stale.StatusCode)
	}
}

func TestAcceptsGzip(t *testing.T) {
	tests := []struct {
		header string
		want   bool
	}{
		{"", false},
		{"gzip", true},
		{"deflate, gzip;q=0.8", true},
		{"GZIP", true},
		{"gzip;q=0", false},
		{"br", false},
		{"*", true},
	}
	for _, tt := range tests {
		if got := acceptsGzip(tt.header); got != tt.want {
			t.Errorf("acceptsGzip(%q): got %v, want %v", tt.header, got, tt.want)
		}
	}
}

func TestIsAppRoute(t *testing.T) {
	tests := []struct {
		path string
		want bool
	}{
		{"/", true},
		{"/chat/abc", true},
		{"/chat/", false},
		{"/chat/abc/def", false},
		{"/about", false},
	}
	for _, tt := range tests {
		if got := isAppRoute(tt.path); got != tt.want {
			t.Errorf("isAppRoute(%q): got %v, want %v", tt.path, got, tt.want)
		}
	}
}
