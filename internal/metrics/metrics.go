// Package metrics holds colachat's Prometheus collectors. They are registered on the
// Registerer the caller gives (no global registry), and other packages feed them through
// small methods that are safe to call on a nil *Metrics, so a component built without
// metrics (in tests, say) needs no stub.
package metrics

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics is the set of colachat's collectors.
type Metrics struct {
	messagesIn    prometheus.Counter
	ackLatency    prometheus.Histogram
	commitLatency prometheus.Histogram
	httpRequests  *prometheus.CounterVec
}

// Sources are running totals read at scrape time from the components that keep them, so
// no hot path pays for a metric update. A nil func leaves its metric out.
type Sources struct {
	Connections func() int    // open socket connections
	Rooms       func() int    // rooms with a socket on this node
	Deliveries  func() uint64 // events queued for sockets since start
	QueueDrops  func() uint64 // connections cut because their queue overflowed
	// The ordering of hosted rooms' events (chat.StreamStats).
	GapsFilled    func() uint64 // stored events read from the store because their publish did not come in time
	Duplicates    func() uint64 // stored events received twice
	ForeignEvents func() uint64 // events received for rooms this node does not host
}

// latencyBuckets span 100 µs to about 3 s: acks and commits are usually a few ms.
var latencyBuckets = prometheus.ExponentialBuckets(0.0001, 2.5, 12)

// New creates the collectors and registers them on reg.
func New(reg prometheus.Registerer, src Sources) (*Metrics, error) {
	m := &Metrics{
		messagesIn: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "colachat", Name: "messages_in_total",
			Help: "Messages and alerts accepted from clients.",
		}),
		ackLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "colachat", Name: "ack_latency_seconds",
			Help:    "Time from receiving a socket event to sending its ack.",
			Buckets: latencyBuckets,
		}),
		commitLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "colachat", Name: "store_commit_latency_seconds",
			Help:    "Duration of the store's group commits.",
			Buckets: latencyBuckets,
		}),
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "colachat", Name: "http_requests_total",
			Help: "HTTP requests by route pattern, method and status code.",
		}, []string{"route", "method", "status"}),
	}
	collectors := []prometheus.Collector{m.messagesIn, m.ackLatency, m.commitLatency, m.httpRequests}
	if f := src.Connections; f != nil {
		collectors = append(collectors, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: "colachat", Name: "connections",
			Help: "Open Socket.IO connections on this node.",
		}, func() float64 { return float64(f()) }))
	}
	if f := src.Rooms; f != nil {
		collectors = append(collectors, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: "colachat", Name: "rooms_active",
			Help: "Rooms with at least one connected socket on this node.",
		}, func() float64 { return float64(f()) }))
	}
	if f := src.Deliveries; f != nil {
		collectors = append(collectors, prometheus.NewCounterFunc(prometheus.CounterOpts{
			Namespace: "colachat", Name: "messages_out_total",
			Help: "Events queued for sockets (one per recipient): messages, alerts, lists, acks.",
		}, func() float64 { return float64(f()) }))
	}
	if f := src.QueueDrops; f != nil {
		collectors = append(collectors, prometheus.NewCounterFunc(prometheus.CounterOpts{
			Namespace: "colachat", Name: "queue_drops_total",
			Help: "Connections cut because their outgoing queue overflowed.",
		}, func() float64 { return float64(f()) }))
	}
	for _, c := range []struct {
		f          func() uint64
		name, help string
	}{
		{src.GapsFilled, "stream_gap_fills_total", "Stored events read from the store because their publish did not arrive in time."},
		{src.Duplicates, "stream_duplicates_total", "Stored events received more than once (dropped)."},
		{src.ForeignEvents, "stream_foreign_events_total", "Events received for rooms this node does not host (dropped)."},
	} {
		if f := c.f; f != nil {
			collectors = append(collectors, prometheus.NewCounterFunc(prometheus.CounterOpts{
				Namespace: "colachat", Name: c.name, Help: c.help,
			}, func() float64 { return float64(f()) }))
		}
	}
	for _, c := range collectors {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register metrics: %w", err)
		}
	}
	return m, nil
}

// NewRegistry is a registry with the Go runtime and process collectors, for the app to
// pass to New and Handler.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// Handler serves the metrics of g in the Prometheus exposition format.
func Handler(g prometheus.Gatherer) http.Handler {
	return promhttp.HandlerFor(g, promhttp.HandlerOpts{})
}

// MessageIn counts a message or alert accepted from a client.
func (m *Metrics) MessageIn() {
	if m != nil {
		m.messagesIn.Inc()
	}
}

// ObserveAck records how long an event took from arrival to ack.
func (m *Metrics) ObserveAck(d time.Duration) {
	if m != nil {
		m.ackLatency.Observe(d.Seconds())
	}
}

// ObserveCommit records the duration of one store commit.
func (m *Metrics) ObserveCommit(d time.Duration) {
	if m != nil {
		m.commitLatency.Observe(d.Seconds())
	}
}

// ObserveHTTP counts one HTTP request. route is the mux pattern that served it, so the
// label's values stay few; use "unmatched" when none did.
func (m *Metrics) ObserveHTTP(route, method string, status int) {
	if m != nil {
		m.httpRequests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	}
}

// Middleware counts every request next serves by the pattern the (innermost) ServeMux
// matched, read after next returns.
func (m *Metrics) Middleware(next http.Handler) http.Handler {
	if m == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		m.ObserveHTTP(route, r.Method, sw.code())
	})
}

// statusWriter remembers the status code written through it.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) code() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

// Hijack hands the connection over (WebSocket upgrades); the request counts as 101.
func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, rw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err == nil && w.status == 0 {
		w.status = http.StatusSwitchingProtocols
	}
	return conn, rw, err
}

// Flush sends buffered data (long-polling, streaming).
func (w *statusWriter) Flush() {
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the underlying writer (flush, hijack for
// WebSocket upgrades, deadlines).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
