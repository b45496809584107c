package chat

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestEveryNicknameFitsTheLimit(t *testing.T) {
	for locale, words := range nicknameWords {
		for _, name := range words.plain {
			if c := utf8.RuneCountInString(name); c > MaxNickname {
				t.Errorf("%s: %q has %d characters, want at most %d", locale, name, c, MaxNickname)
			}
		}
		distinct := map[string]bool{}
		for _, a := range words.adjectives {
			for _, noun := range words.nouns {
				name := a + " " + noun
				if c := utf8.RuneCountInString(name); c > MaxNickname {
					t.Errorf("%s: %q has %d characters, want at most %d", locale, name, c, MaxNickname)
				}
				distinct[nicknameKey(name)] = true
			}
		}
		if n := len(distinct); n < MaxCapacity {
			t.Errorf("%s: got %d combinations, want at least %d, the largest room", locale, n, MaxCapacity)
		}
	}
}

func TestRandomNicknameAvoidsTaken(t *testing.T) {
	words := nicknameWords["en"]
	taken := map[string]bool{}
	for _, n := range words.plain {
		taken[nicknameKey(n)] = true
	}
	for _, a := range words.adjectives {
		for _, n := range words.nouns {
			taken[nicknameKey(a+" "+n)] = true
		}
	}
	name := randomNickname("en", taken)
	if taken[nicknameKey(name)] || utf8.RuneCountInString(name) > MaxNickname {
		t.Fatalf("got %q, want a free nickname of at most 10 characters", name)
	}
}

func TestNewUUID(t *testing.T) {
	re := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for range 1000 {
		id := newUUID()
		if !re.MatchString(id) || seen[id] {
			t.Fatalf("got %q (seen before: %v), want a fresh version 4 UUID", id, seen[id])
		}
		seen[id] = true
	}
}

func TestTokens(t *testing.T) {
	tok := newToken()
	if len(tok) < 40 || newToken() == tok {
		t.Fatalf("got token %q, want a long random one", tok)
	}
	h := hashToken(tok)
	tests := []struct {
		token string
		hash  []byte
		want  bool
	}{
		{tok, h, true}, {tok + "x", h, false}, {"", h, false}, {"", nil, false}, {tok, nil, false},
	}
	for _, tt := range tests {
		if got := tokenMatches(tt.token, tt.hash); got != tt.want {
			t.Errorf("tokenMatches(%q, %x): got %v, want %v", tt.token, tt.hash, got, tt.want)
		}
	}
}

func TestTickets(t *testing.T) {
	key := []byte("key")
	now := time.Unix(1_700_000_000, 0)
	ticket := makeTicket(key, "room", now.Add(time.Minute))
	tests := []struct {
		name   string
		key    []byte
		room   string
		ticket string
		at     time.Time
		want   bool
	}{
		{"valid", key, "room", ticket, now, true},
		{"expired", key, "room", ticket, now.Add(time.Minute), false},
		{"other room", key, "room2", ticket, now, false},
		{"other key (another cluster)", []byte("other"), "room", ticket, now, false},
		{"tampered expiry", key, "room", "9" + ticket, now, false},
		{"garbage", key, "room", "nonsense", now, false},
		{"empty", key, "room", "", now, false},
	}
	for _, tt := range tests {
		if got := ticketValid(tt.key, tt.room, tt.ticket, tt.at); got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestConfigDefaults(t *testing.T) {
	c, err := Config{}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if c.Identity != IdentityStrict || c.Locale != "ko" || c.RoomTTL != 24*time.Hour || c.LeaveGrace != time.Second ||
		c.Retention != 24*time.Hour || c.TicketTTL != 5*time.Minute || c.SweepEvery != time.Second ||
		c.TypingEvery != 2*time.Second || c.PasswordCost != 10 || len(c.TicketKey) != 32 ||
		c.AccessAttempts != (RateLimit{Burst: 10, Per: time.Minute}) {
		t.Fatalf("got %+v, want the documented defaults", c)
	}
	for _, bad := range []Config{{Identity: "loose"}, {Locale: "fr"}, {PasswordCost: 3}} {
		if _, err := bad.withDefaults(); err == nil {
			t.Errorf("config %+v: got no error", bad)
		}
	}
}

func TestAlertTexts(t *testing.T) {
	tests := []struct {
		a      Alert
		locale string
		want   string
	}{
		{Alert{Kind: AlertJoin, Nickname: "졸린 너구리"}, "ko", "졸린 너구리님이 입장했습니다."},
		{Alert{Kind: AlertLeave, Nickname: "졸린 너구리"}, "ko", "졸린 너구리님이 퇴장했습니다."},
		{Alert{Kind: AlertRename, Nickname: "a", NewNickname: "b"}, "ko", "a님의 닉네임이 b로 변경되었습니다."},
		{Alert{Kind: AlertExpire}, "ko", "채팅방이 만료되었습니다."},
		{Alert{Kind: AlertJoin, Nickname: "Shy Otter"}, "en", "Shy Otter joined."},
		{Alert{Kind: AlertLeave, Nickname: "Shy Otter"}, "en", "Shy Otter left."},
		{Alert{Kind: AlertRename, Nickname: "a", NewNickname: "b"}, "en", "a is now b."},
		{Alert{Kind: AlertExpire}, "en", "This chat room has expired."},
	}
	for _, tt := range tests {
		if got := AlertText(tt.a, tt.locale); got != tt.want {
			t.Errorf("AlertText(%+v, %s): got %q, want %q", tt.a, tt.locale, got, tt.want)
		}
	}
}

func TestOriginalNamesComeFirst(t *testing.T) {
	taken := map[string]bool{}
	for range 6 {
		name := randomNickname("ko", taken)
		if taken[name] || !slices.Contains(nicknameWords["ko"].plain, name) {
			t.Fatalf("got %q (taken %v), want a free original name", name, taken[name])
		}
		taken[name] = true
	}
	if name := randomNickname("ko", taken); slices.Contains(nicknameWords["ko"].plain, name) || !strings.Contains(name, " ") {
		t.Fatalf("got %q with every original name taken, want a combination", name)
	}
}

func TestGenCacheIsBoundedAndKeepsWhatIsUsed(t *testing.T) {
	c := newGenCache[int, string](4)
	for i := range 4 {
		c.put(i, "v")
	}
	c.put(4, "v") // the young generation (0–3) becomes the old one
	if _, ok := c.get(0); !ok {
		t.Fatal("got 0 evicted one generation on, want it kept")
	}
	for i := 5; i < 12; i++ {
		c.put(i, "v")
	}
	if got := c.len(); got > 8 {
		t.Fatalf("got %d entries, want at most 2 generations of 4", got)
	}
	if _, ok := c.get(1); ok {
		t.Fatal("got 1 still cached two generations on without use, want it evicted")
	}
	c.update(11, func(string) string { return "w" })
	if v, _ := c.get(11); v != "w" {
		t.Fatalf("got %q after update, want w", v)
	}
	c.update(99, func(string) string { return "w" })
	if _, ok := c.get(99); ok {
		t.Fatal("got 99 cached by an update, want update never to add")
	}
	c.remove(11)
	if _, ok := c.get(11); ok {
		t.Fatal("got 11 after remove, want it gone")
	}
}
