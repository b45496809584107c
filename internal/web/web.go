// Package web serves the embedded browser client: the files Vite builds from web/ into dist/.
//
// Hashed assets (dist/assets/) are cached for a year; index.html is revalidated on every load
// and answers every client-side route (/, /chat/<roomId>) so a shared room link opens the app.
package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
)

//go:embed all:dist
var dist embed.FS

const (
	cacheImmutable  = "public, max-age=31536000, immutable"
	cacheRevalidate = "no-cache"
	// Compressing tiny files costs more than it saves.
	gzipMinSize = 512
)

// file is one embedded file, ready to serve, with its gzip form when that is smaller.
type file struct {
	body        []byte
	gzipped     []byte
	contentType string
	etag        string
	cache       string
}

type handler struct {
	files map[string]*file // by URL path, "/assets/index-abc.js"
	index *file
}

// Handler serves the embedded UI. Mount it as the fallback route: it answers any GET or HEAD
// the API routes did not take.
func Handler() http.Handler {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(fmt.Sprintf("web: embedded dist: %v", err)) // cannot happen: the directory is embedded
	}
	h, err := newHandler(sub)
	if err != nil {
		panic(fmt.Sprintf("web: %v", err)) // the build put something unreadable in dist
	}
	return h
}

func newHandler(root fs.FS) (*handler, error) {
	h := &handler{files: map[string]*file{}}
	err := fs.WalkDir(root, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(root, name)
		if err != nil {
			return fmt.Errorf("read %s: %w", name, err)
		}
		f, err := prepare(name, body)
		if err != nil {
			return err
		}
		h.files["/"+name] = f
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load embedded files: %w", err)
	}
	h.index = h.files["/index.html"]
	if h.index == nil {
		return nil, fmt.Errorf("index.html missing: build the UI with `npm run build` in web/")
	}
	return h, nil
}

func prepare(name string, body []byte) (*file, error) {
	ct := mime.TypeByExtension(path.Ext(name))
	if ct == "" {
		ct = http.DetectContentType(body)
	}
	sum := sha256.Sum256(body)
	f := &file{
		body:        body,
		contentType: ct,
		etag:        `"` + hex.EncodeToString(sum[:12]) + `"`,
		cache:       cacheRevalidate,
	}
	if strings.HasPrefix(name, "assets/") {
		f.cache = cacheImmutable
	}
	if len(body) >= gzipMinSize && compressible(ct) {
		var buf bytes.Buffer
		zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		if err != nil {
			return nil, fmt.Errorf("gzip %s: %w", name, err)
		}
		if _, err := zw.Write(body); err != nil {
			return nil, fmt.Errorf("gzip %s: %w", name, err)
		}
		if err := zw.Close(); err != nil {
			return nil, fmt.Errorf("gzip %s: %w", name, err)
		}
		if buf.Len() < len(body) {
			f.gzipped = buf.Bytes()
		}
	}
	return f, nil
}

func compressible(contentType string) bool {
	return strings.HasPrefix(contentType, "text/") ||
		strings.Contains(contentType, "javascript") ||
		strings.Contains(contentType, "json") ||
		strings.Contains(contentType, "svg")
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	p := path.Clean("/" + r.URL.Path)
	if f, ok := h.files[p]; ok && p != "/index.html" {
		h.serve(w, r, f, http.StatusOK)
		return
	}
	// A missing script or stylesheet must not be answered with HTML.
	if strings.HasPrefix(p, "/assets/") || path.Ext(p) != "" && p != "/index.html" {
		http.NotFound(w, r)
		return
	}
	status := http.StatusOK
	if !isAppRoute(p) {
		// The app renders its own "not found" screen; the status tells crawlers and tools.
		status = http.StatusNotFound
	}
	setPageHeaders(w, r)
	h.serve(w, r, h.index, status)
}

// isAppRoute reports whether p is a page the client knows: the home or a room.
func isAppRoute(p string) bool {
	if p == "/" || p == "/index.html" {
		return true
	}
	id, ok := strings.CutPrefix(p, "/chat/")
	return ok && id != "" && !strings.Contains(id, "/")
}

func setPageHeaders(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	// Same-origin WebSockets are listed by scheme too: older browsers do not count them as 'self'.
	connect := "'self'"
	if r.Host != "" {
		connect += " ws://" + r.Host + " wss://" + r.Host
	}
	hdr.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
		"connect-src "+connect+"; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
	// Room links are the only key to a room: never leak them to other sites.
	hdr.Set("Referrer-Policy", "no-referrer")
	hdr.Set("X-Frame-Options", "DENY")
}

func (h *handler) serve(w http.ResponseWriter, r *http.Request, f *file, status int) {
	hdr := w.Header()
	hdr.Set("Content-Type", f.contentType)
	hdr.Set("Cache-Control", f.cache)
	hdr.Set("X-Content-Type-Options", "nosniff")
	body := f.body
	etag := f.etag
	if f.gzipped != nil {
		hdr.Add("Vary", "Accept-Encoding")
		if acceptsGzip(r.Header.Get("Accept-Encoding")) {
			body = f.gzipped
			etag = strings.TrimSuffix(f.etag, `"`) + `-gz"`
			hdr.Set("Content-Encoding", "gzip")
		}
	}
	hdr.Set("ETag", etag)
	if status == http.StatusOK && etagMatches(r.Header.Get("If-None-Match"), etag) {
		hdr.Del("Content-Type")
		hdr.Del("Content-Encoding")
		w.WriteHeader(http.StatusNotModified)
		return
	}
	hdr.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body) // the client went away: nothing left to do
	}
}

// acceptsGzip reads Accept-Encoding; "gzip;q=0" refuses it.
func acceptsGzip(header string) bool {
	for part := range strings.SplitSeq(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(name), "gzip") && strings.TrimSpace(name) != "*" {
			continue
		}
		q := strings.ReplaceAll(strings.TrimSpace(params), " ", "")
		if q == "q=0" || q == "q=0.0" || q == "q=0.00" || q == "q=0.000" {
			return false
		}
		return true
	}
	return false
}

func etagMatches(header, etag string) bool {
	if header == "" {
		return false
	}
	for part := range strings.SplitSeq(header, ",") {
		tag := strings.TrimPrefix(strings.TrimSpace(part), "W/")
		if tag == etag || tag == "*" {
			return true
		}
	}
	return false
}
