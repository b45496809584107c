package chat

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"
)

// seqStore is the part of a Store the streams read: a room's messages by position.
type seqStore struct {
	Store // nil: the streams call nothing else
	mu    sync.Mutex
	msgs  map[string][]Message // by room, Seq i+1 at index i
	reads int
}

func (s *seqStore) add(roomID string, n int) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	for range n {
		seq := int64(len(s.msgs[roomID]) + 1)
		m := Message{ID: seq * 10, Seq: seq, Type: TypeMessage, RoomID: roomID, Content: fmt.Sprint(seq)}
		s.msgs[roomID] = append(s.msgs[roomID], m)
		out = append(out, m)
	}
	return out
}

func (s *seqStore) LastSeq(_ context.Context, roomID string) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return int64(len(s.msgs[roomID])), nil
}

func (s *seqStore) Messages(_ context.Context, q MessageQuery) ([]Message, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reads++
	var out []Message
	for _, m := range s.msgs[q.RoomID] {
		if m.Seq > q.AfterSeq && len(out) < q.Limit {
			out = append(out, m)
		}
	}
	return out, nil
}

// hostBroker records Host and Unhost; events are handed to the streams by the test.
type hostBroker struct {
	Broker
	mu     sync.Mutex
	hosted map[string]bool
	calls  []string
}

func (b *hostBroker) Host(_ context.Context, roomID string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.hosted[roomID] = true
	b.calls = append(b.calls, "host "+roomID)
	return nil
}

func (b *hostBroker) Unhost(_ context.Context, roomID string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.hosted, roomID)
	b.calls = append(b.calls, "unhost "+roomID)
	return nil
}

func (b *hostBroker) isHosted(roomID string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.hosted[roomID]
}

type delivered struct {
	mu  sync.Mutex
	evs []Event
	got chan struct{}
}

func (d *delivered) add(ev Event) {
	d.mu.Lock()
	d.evs = append(d.evs, ev)
	d.mu.Unlock()
	select {
	case d.got <- struct{}{}:
	default:
	}
}

// names lists what was delivered: a stored event as its Seq, another as its kind.
func (d *delivered) names() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []string
	for _, ev := range d.evs {
		if seq := storedSeq(ev); seq > 0 {
			out = append(out, fmt.Sprint(seq))
		} else {
			out = append(out, string(ev.Kind))
		}
	}
	return out
}

// waitFor waits until want has been delivered, exactly.
func (d *delivered) waitFor(t *testing.T, want ...string) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		got := d.names()
		if slices.Equal(got, want) {
			return
		}
		if len(got) > len(want) {
			t.Fatalf("delivered %v, want %v", got, want)
		}
		select {
		case <-d.got:
		case <-deadline:
			t.Fatalf("delivered %v, want %v", got, want)
		}
	}
}

type streamFixture struct {
	st     *streams
	store  *seqStore
	broker *hostBroker
	out    *delivered
	room   Room
}

func newStreamFixture(t *testing.T, hold, linger time.Duration) *streamFixture {
	t.Helper()
	f := &streamFixture{
		store:  &seqStore{msgs: map[string][]Message{}},
		broker: &hostBroker{hosted: map[string]bool{}},
		out:    &delivered{got: make(chan struct{}, 1)},
		room:   Room{ID: "room-1", Namespace: "anonymous"},
	}
	f.st = newStreams(f.broker, f.store, hold, linger, slog.New(slog.NewTextHandler(io.Discard, nil)))
	f.st.subscribe(f.out.add)
	t.Cleanup(f.st.stop)
	return f
}

func (f *streamFixture) host(t *testing.T, connID string) {
	t.Helper()
	if _, err := f.st.host(context.Background(), f.room, connID); err != nil {
		t.Fatal(err)
	}
}

func (f *streamFixture) publish(ms ...Message) {
	for _, m := range ms {
		f.st.receive(Event{Kind: EventMessage, RoomID: m.RoomID, Namespace: "anonymous", Message: &m})
	}
}

func TestStreamPutsEarlyEventsInOrder(t *testing.T) {
	f := newStreamFixture(t, time.Hour, time.Hour) // no fill: only the order of arrival matters
	f.host(t, "c1")
	ms := f.store.add(f.room.ID, 5)
	f.publish(ms[2], ms[0], ms[4], ms[1], ms[3])
	f.out.waitFor(t, "1", "2", "3", "4", "5")
	if f.store.reads != 0 {
		t.Errorf("the store was read %d times, want none: nothing was lost", f.store.reads)
	}
}

func TestStreamDropsDuplicates(t *testing.T) {
	f := newStreamFixture(t, time.Hour, time.Hour)
	f.host(t, "c1")
	ms := f.store.add(f.room.ID, 3)
	f.publish(ms[0], ms[0], ms[1], ms[0], ms[2], ms[1])
	f.out.waitFor(t, "1", "2", "3")
	if got := f.st.dropped.Load(); got != 3 {
		t.Errorf("dropped %d, want 3", got)
	}
}

func TestStreamFillsALostPublishFromTheStore(t *testing.T) {
	f := newStreamFixture(t, 20*time.Millisecond, time.Hour)
	f.host(t, "c1")
	ms := f.store.add(f.room.ID, 6)
	f.publish(ms[0], ms[3], ms[5]) // 2, 3 and 5 never come
	f.out.waitFor(t, "1", "2", "3", "4", "5", "6")
	if got := f.st.filled.Load(); got != 3 {
		t.Errorf("filled %d from the store, want 3", got)
	}
	// A late publish of a filled one is a duplicate.
	f.publish(ms[1])
	ms = append(ms, f.store.add(f.room.ID, 1)...)
	f.publish(ms[6])
	f.out.waitFor(t, "1", "2", "3", "4", "5", "6", "7")
}

func TestStreamStartsAtTheRoomsLastPosition(t *testing.T) {
	f := newStreamFixture(t, time.Hour, time.Hour)
	old := f.store.add(f.room.ID, 4)
	f.host(t, "c1")
	if !f.broker.isHosted(f.room.ID) {
		t.Fatal("the room was not hosted at the broker")
	}
	ms := f.store.add(f.room.ID, 2)
	f.publish(old[3], ms[1], old[2], ms[0]) // stored before hosting: not this node's to deliver
	f.out.waitFor(t, "5", "6")
}

func TestStreamHoldsAnUnstoredEventUntilItsAfter(t *testing.T) {
	f := newStreamFixture(t, time.Hour, time.Hour)
	f.host(t, "c1")
	ms := f.store.add(f.room.ID, 2)
	f.st.receive(Event{Kind: EventChatters, RoomID: f.room.ID, After: 2})
	f.st.receive(Event{Kind: EventTyping, RoomID: f.room.ID}) // no After: at once
	f.out.waitFor(t, "typing")
	f.publish(ms[1])
	f.publish(ms[0])
	f.out.waitFor(t, "typing", "1", "2", "chatters")
}

func TestStreamIgnoresRoomsItDoesNotHost(t *testing.T) {
	f := newStreamFixture(t, time.Hour, time.Hour)
	ms := f.store.add("elsewhere", 1)
	f.publish(ms[0])
	if got := f.out.names(); len(got) != 0 || f.st.foreign.Load() != 1 {
		t.Fatalf("delivered %v and counted %d foreign, want nothing delivered and 1 foreign", got, f.st.foreign.Load())
	}
}

func TestStreamUnhostsAfterTheLastConnectionLingers(t *testing.T) {
	f := newStreamFixture(t, time.Hour, 30*time.Millisecond)
	f.host(t, "c1")
	f.host(t, "c2")
	f.st.release(f.room.ID, "c1")
	time.Sleep(60 * time.Millisecond)
	if !f.broker.isHosted(f.room.ID) {
		t.Fatal("unhosted while c2 is still in the room")
	}
	f.st.release(f.room.ID, "c2")
	f.host(t, "c3") // back within the linger: stays hosted, no second Host
	f.st.release(f.room.ID, "c3")
	deadline := time.Now().Add(5 * time.Second)
	for f.broker.isHosted(f.room.ID) || f.st.hosts(f.room.ID) {
		if time.Now().After(deadline) {
			t.Fatal("never unhosted after the last connection left")
		}
		time.Sleep(5 * time.Millisecond)
	}
	f.host(t, "c4") // hosted afresh
	f.broker.mu.Lock()
	calls := slices.Clone(f.broker.calls)
	f.broker.mu.Unlock()
	if want := []string{"host room-1", "unhost room-1", "host room-1"}; !slices.Equal(calls, want) {
		t.Fatalf("broker calls %v, want %v", calls, want)
	}
}

// Many publishers in any order, some events lost, some twice: every subscriber sees the
// room's positions 1..n once each, in order.
func TestStreamUnderConcurrentPublishers(t *testing.T) {
	f := newStreamFixture(t, 5*time.Millisecond, time.Hour)
	f.host(t, "c1")
	const n = 400
	ms := f.store.add(f.room.ID, n)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := w; i < n; i += 4 {
				switch {
				case i%37 == 0: // lost
				case i%11 == 0:
					f.publish(ms[i], ms[i])
				default:
					f.publish(ms[i])
				}
			}
		})
	}
	wg.Wait()
	want := make([]string, n)
	for i := range want {
		want[i] = fmt.Sprint(i + 1)
	}
	f.out.waitFor(t, want...)
}

// After a broker outage the events published meanwhile never come; a quiet room learns of
// them from Resync.
func TestStreamResyncFillsAQuietRoom(t *testing.T) {
	f := newStreamFixture(t, 10*time.Millisecond, time.Hour)
	f.host(t, "c1")
	ms := f.store.add(f.room.ID, 4)
	f.publish(ms[0]) // 2, 3 and 4 were published while the broker was away
	f.out.waitFor(t, "1")
	f.st.resync(context.Background())
	f.out.waitFor(t, "1", "2", "3", "4")
	f.st.resync(context.Background()) // nothing missing: nothing read
	ms = append(ms, f.store.add(f.room.ID, 1)...)
	f.publish(ms[4])
	f.out.waitFor(t, "1", "2", "3", "4", "5")
}
