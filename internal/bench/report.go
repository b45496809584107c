package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// Summary is the result of one run; -json prints it as is.
type Summary struct {
	Protocol  string   `json:"protocol"`
	URLs      []string `json:"urls"`
	Namespace string   `json:"namespace"`
	Rooms     int      `json:"rooms"`
	Capacity  int      `json:"capacity"`
	Clients   int      `json:"clients"`
	Rate      float64  `json:"rate_per_client"`
	Senders   int      `json:"senders_per_room"`
	Duration  string   `json:"duration"`
	Hold      string   `json:"hold"`

	Connected      int64     `json:"connected"`
	ConnectErrors  int64     `json:"connect_errors"`
	Joined         int64     `json:"joined"`
	JoinErrors     int64     `json:"join_errors"`
	Disconnects    int64     `json:"unexpected_disconnects"`
	ConnectLatency Quantiles `json:"connect_latency"`
	JoinLatency    Quantiles `json:"join_ack_latency"`

	JoinPhaseSeconds float64 `json:"join_phase_seconds"`
	SendSeconds      float64 `json:"send_seconds"`
	MeasuredSeconds  float64 `json:"measured_seconds"`

	Sent        int64     `json:"messages_sent"`
	SendErrors  int64     `json:"send_errors"`
	AcksOK      int64     `json:"acks_ok"`
	AckErrors   int64     `json:"ack_errors"`
	AcksMissing int64     `json:"acks_missing"`
	AckLatency  Quantiles `json:"ack_latency"`

	Expected         int64     `json:"deliveries_expected"`
	Received         int64     `json:"deliveries_received"`
	Lost             int64     `json:"deliveries_lost"`
	MessagesWithLoss int64     `json:"messages_with_loss"`
	Duplicates       int64     `json:"deliveries_duplicated"`
	Unconfirmed      int64     `json:"deliveries_of_unacked_messages"`
	Stray            int64     `json:"deliveries_unrecognised"`
	OtherEvents      int64     `json:"other_events"`
	DeliveryLatency  Quantiles `json:"delivery_latency"`
	ThroughputIn     float64   `json:"throughput_in_per_second"`
	ThroughputOut    float64   `json:"throughput_out_per_second"`
	BenchCPUSeconds  float64   `json:"bench_cpu_seconds"`
	BenchRSSIdleKB   int64     `json:"bench_rss_idle_kb"`

	Server ServerStats  `json:"server"`
	Errors []ErrorCount `json:"errors"`
}

// ServerStats are measured from /proc for the -server-pid processes (summed over them).
type ServerStats struct {
	PIDs                 []int    `json:"pids"`
	CPUJoinSeconds       float64  `json:"cpu_join_seconds"`
	CPUPerJoinMicros     float64  `json:"cpu_us_per_connect_join"`
	CPUMessageSeconds    float64  `json:"cpu_message_seconds"`
	CPUPerMessageMicros  float64  `json:"cpu_us_per_message"`
	CPUPerDeliveryMicros float64  `json:"cpu_us_per_delivery"`
	RSSBaselineKB        int64    `json:"rss_baseline_kb"`
	RSSJoinedKB          int64    `json:"rss_joined_kb"`
	RSSIdleKB            int64    `json:"rss_idle_kb"`
	RSSEndKB             int64    `json:"rss_end_kb"`
	RSSPerConnKB         float64  `json:"rss_kb_per_connection"`
	Errors               []string `json:"errors,omitempty"`
}

// ErrorCount is one kind of error, how often it happened and a few of its texts.
type ErrorCount struct {
	Kind    string   `json:"kind"`
	Count   int64    `json:"count"`
	Samples []string `json:"samples"`
}

// fill copies the counters into sum and works out loss per message.
func (r *runner) fill(sum *Summary) {
	sum.Connected, sum.ConnectErrors = r.connected.Load(), r.connectErrs.Load()
	sum.Joined, sum.JoinErrors, sum.Disconnects = r.joined.Load(), r.joinErrs.Load(), r.disconnects.Load()
	sum.ConnectLatency, sum.JoinLatency = r.connectLat.quantiles(), r.joinLat.quantiles()
	sum.Sent, sum.SendErrors = r.sent.Load(), r.sendErrs.Load()
	sum.AcksOK, sum.AckErrors = r.acksOK.Load(), r.ackErrs.Load()
	sum.AcksMissing = max(0, sum.Sent-sum.AcksOK-sum.AckErrors)
	sum.AckLatency, sum.DeliveryLatency = r.ackLat.quantiles(), r.deliveryLat.quantiles()
	sum.Expected, sum.Received = r.expected.Load(), r.received.Load()
	sum.Stray, sum.OtherEvents = r.stray.Load(), r.otherEvents.Load()
	msgs := r.slots()
	n := min(r.nextSeq.Load(), int64(len(msgs)))
	for i := range n {
		exp, got := int64(msgs[i].expected.Load()), int64(msgs[i].got.Load())
		switch {
		case exp == 0:
			sum.Unconfirmed += got
		case got < exp:
			sum.Lost += exp - got
			sum.MessagesWithLoss++
		case got > exp:
			sum.Duplicates += got - exp
		}
	}
	if sum.MeasuredSeconds > 0 {
		sum.ThroughputIn = float64(sum.Sent) / sum.SendSeconds
		sum.ThroughputOut = float64(sum.Received) / sum.MeasuredSeconds
	}
	sum.Errors = r.errs.snapshot()
	sort.Slice(sum.Errors, func(i, j int) bool { return sum.Errors[i].Kind < sum.Errors[j].Kind })
}

// serverProbe reads the measured processes; a failed read is remembered, not fatal.
type serverProbe struct {
	pids processes
	errs []string
}

func newServerProbe(pids processes) *serverProbe { return &serverProbe{pids: pids} }

func (p *serverProbe) ok() bool { return len(p.pids) > 0 && len(p.errs) == 0 }

func (p *serverProbe) cpu() time.Duration {
	if len(p.pids) == 0 {
		return 0
	}
	d, err := p.pids.cpu()
	if err != nil {
		p.errs = append(p.errs, err.Error())
	}
	return d
}

func (p *serverProbe) sample(kb *int64) {
	if len(p.pids) == 0 {
		return
	}
	v, err := p.pids.rss()
	if err != nil {
		p.errs = append(p.errs, err.Error())
		return
	}
	*kb = v
}

func (p *serverProbe) errors() []string { return p.errs }

func writeSummary(w io.Writer, s *Summary, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if err := enc.Encode(s); err != nil {
			return fmt.Errorf("bench: write summary: %w", err)
		}
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k, format string, args ...any) { fmt.Fprintf(tw, "%s\t"+format+"\n", append([]any{k}, args...)...) }
	lat := func(q Quantiles) string {
		if q.Count == 0 {
			return "-"
		}
		return fmt.Sprintf("p50 %.2f  p90 %.2f  p99 %.2f  max %.2f ms  (n=%d)", q.P50, q.P90, q.P99, q.Max, q.Count)
	}
	row("target", "%s %s ns=%s", s.Protocol, strings.Join(s.URLs, ","), s.Namespace)
	if s.Rate > 0 {
		senders := "each"
		if s.Senders < s.Capacity {
			senders = fmt.Sprintf("from %d of each room", s.Senders)
		}
		row("load", "%d rooms x %d = %d clients, %.3g msg/s %s for %s, hold %s", s.Rooms, s.Capacity, s.Clients, s.Rate, senders, s.Duration, s.Hold)
	} else {
		row("load", "%d rooms x %d = %d clients, idle for %s", s.Rooms, s.Capacity, s.Clients, s.Hold)
	}
	row("connections", "%d ok, %d failed, %d dropped later", s.Connected, s.ConnectErrors, s.Disconnects)
	row("connect latency", "%s", lat(s.ConnectLatency))
	row("joins", "%d ok, %d failed, in %.1f s", s.Joined, s.JoinErrors, s.JoinPhaseSeconds)
	row("join-ack latency", "%s", lat(s.JoinLatency))
	if s.Sent+s.SendErrors > 0 {
		row("messages sent", "%d (%d send errors) in %.1f s = %.0f/s in", s.Sent, s.SendErrors, s.SendSeconds, s.ThroughputIn)
		row("acks", "%d ok, %d errors, %d missing", s.AcksOK, s.AckErrors, s.AcksMissing)
		row("ack latency", "%s", lat(s.AckLatency))
		loss := 0.0
		if s.Expected > 0 {
			loss = 100 * float64(s.Lost) / float64(s.Expected)
		}
		row("deliveries", "%d received / %d expected, lost %d (%.3f%%, %d messages), dup %d, of unacked %d, unrecognised %d",
			s.Received, s.Expected, s.Lost, loss, s.MessagesWithLoss, s.Duplicates, s.Unconfirmed, s.Stray)
		row("delivery latency", "%s", lat(s.DeliveryLatency))
		row("throughput out", "%.0f deliveries/s over %.1f s", s.ThroughputOut, s.MeasuredSeconds)
		row("bench cpu", "%.2f s during the message phase", s.BenchCPUSeconds)
	}
	if s.BenchRSSIdleKB > 0 && s.Connected > 0 {
		row("bench rss", "%d KB at idle = %.1f KB per client connection", s.BenchRSSIdleKB, float64(s.BenchRSSIdleKB)/float64(s.Connected))
	}
	if sv := s.Server; len(sv.PIDs) > 0 {
		row("server pids", "%v", sv.PIDs)
		row("server cpu join", "%.2f s = %.0f µs per connect+join", sv.CPUJoinSeconds, sv.CPUPerJoinMicros)
		if s.Sent > 0 {
			row("server cpu msgs", "%.2f s = %.1f µs per acked message, %.2f µs per delivery", sv.CPUMessageSeconds, sv.CPUPerMessageMicros, sv.CPUPerDeliveryMicros)
		}
		row("server rss", "baseline %d KB, joined %d KB, idle %d KB, end %d KB", sv.RSSBaselineKB, sv.RSSJoinedKB, sv.RSSIdleKB, sv.RSSEndKB)
		row("rss per connection", "%.1f KB (idle - baseline) / connections", sv.RSSPerConnKB)
		for _, e := range sv.Errors {
			row("server probe error", "%s", e)
		}
	}
	for _, e := range s.Errors {
		row("errors: "+e.Kind, "%d  e.g. %s", e.Count, strings.Join(e.Samples, " | "))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("bench: write summary: %w", err)
	}
	return nil
}
