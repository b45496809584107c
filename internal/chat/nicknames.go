package chat

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
)

// A new chatter is named like in the original (one of its six names, translated in
// English) while one of those is free in the room; after that, an adjective and a noun;
// after those, a numbered noun. Every name is at most 10 characters, the nickname limit;
// each language has more combinations than the largest room any deployment allows
// (MaxCapacity), ten times the default one.
var nicknameWords = map[string]struct{ plain, adjectives, nouns []string }{
	"ko": {
		plain: []string{"개구리", "메뚜기", "멸치", "너구리", "코끼리", "올빼미"},
		adjectives: []string{
			"졸린", "배고픈", "행복한", "용감한", "수줍은", "느긋한", "씩씩한", "엉뚱한",
			"귀여운", "명랑한", "똑똑한", "신나는", "조용한", "부지런한", "상냥한", "든든한",
			"날쌘", "푸른", "작은", "커다란", "말랑한", "반짝이는", "포근한", "새침한",
			"배부른", "심심한", "반가운", "다정한", "재빠른", "보송한", "슬기로운", "깜찍한",
		},
		nouns: []string{
			"개구리", "메뚜기", "멸치", "너구리", "코끼리", "올빼미", "고양이", "강아지",
			"다람쥐", "펭귄", "수달", "판다", "호랑이", "토끼", "거북이", "고등어",
			"떡볶이", "만두", "호떡", "김밥", "붕어빵", "감자", "고구마", "단팥빵",
			"햄스터", "고래", "부엉이", "참새", "오리", "여우", "사슴", "곰돌이",
		},
	},
	"en": {
		plain: []string{"Frog", "Locust", "Anchovy", "Raccoon", "Elephant", "Owl"},
		adjectives: []string{
			"Shy", "Calm", "Bold", "Cozy", "Lazy", "Wise", "Keen", "Glad", "Tiny",
			"Cool", "Kind", "Neat", "Zany", "Wild", "Fond", "Busy", "Cute", "Sly",
			"Warm", "Soft", "Pink", "Blue", "Gold", "Epic", "Mild", "Nice",
			"Fine", "Good", "Hale", "Jade", "Rosy", "Snug",
		},
		nouns: []string{
			"Otter", "Fox", "Owl", "Panda", "Koala", "Moose", "Hare", "Lynx", "Seal", "Crab",
			"Goose", "Bison", "Llama", "Yak", "Wren", "Finch", "Mole", "Newt", "Frog", "Toad",
			"Bagel", "Taco", "Mango", "Peach", "Bun", "Robin", "Whale", "Lemur", "Kiwi", "Mouse",
			"Eagle", "Gecko",
		},
	},
}

// NormalizeLocale maps a language tag ("en", "en-US", "ko_KR") to a nickname and alert
// language colachat has ("ko" or "en"), or "" when it has none for it.
func NormalizeLocale(tag string) string {
	base, _, _ := strings.Cut(strings.TrimSpace(tag), "-")
	base, _, _ = strings.Cut(base, "_")
	switch strings.ToLower(base) {
	case "ko":
		return "ko"
	case "en":
		return "en"
	}
	return ""
}

// nicknameKey is the form two nicknames are compared in: "Owl", "owl" and " owl " are one
// name to the people reading them.
func nicknameKey(n string) string {
	return strings.ToLower(strings.Join(strings.Fields(n), " "))
}

// randomNickname picks a nickname whose key is not in taken: a free original name, else a
// random free combination, else a numbered noun.
func randomNickname(locale string, taken map[string]bool) string {
	words, ok := nicknameWords[locale]
	if !ok {
		words = nicknameWords["ko"]
	}
	free := func(n string) bool { return !taken[nicknameKey(n)] }
	for _, i := range rand.Perm(len(words.plain)) {
		if n := words.plain[i]; free(n) {
			return n
		}
	}
	pick := func() string {
		return words.adjectives[rand.IntN(len(words.adjectives))] + " " + words.nouns[rand.IntN(len(words.nouns))]
	}
	for range 64 {
		if n := pick(); free(n) {
			return n
		}
	}
	// Every combination seen taken: enumerate, then fall back to a numbered short noun.
	for _, a := range words.adjectives {
		for _, n := range words.nouns {
			if name := a + " " + n; free(name) {
				return name
			}
		}
	}
	for i := 1; ; i++ {
		name := words.nouns[rand.IntN(len(words.nouns))] + strconv.Itoa(i)
		if free(name) {
			return name
		}
	}
}

// roomNames are the nicknames of a room's members, present or past, as this node knows
// them. A name stays its holder's for the room's life, since its holder may come back with
// its token: a newcomer never gets the name of someone who just left, and a rename never
// takes the name of someone who is away.
//
// The names are read from the store (a room created here starts empty), then kept current
// by this node's joins and renames and by the room's ordered stream (observeNames), which
// brings every node's join and rename alerts while this node hosts the room. They are used
// only while they have seen everything the stream delivered (seen is its position): a room
// this node stopped hosting, and so stopped hearing, is read again.
type roomNames struct {
	mu      sync.Mutex
	held    map[string]string // member chatter id → the key of the nickname it has now
	had     map[string]bool   // the key of every nickname a member has had in the room
	seen    int64             // the room's position up to which every event was observed
	unknown bool              // seen is not known yet (a read from the store is under way)
	ahead   int64             // while unknown: the last position observed
}

func newRoomNames(seen int64) *roomNames {
	return &roomNames{held: make(map[string]string), had: make(map[string]bool), seen: seen}
}

// note records that chatterID is called nickname in the room.
func (n *roomNames) note(chatterID, nickname string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.noteLocked(chatterID, nickname)
}

func (n *roomNames) noteLocked(chatterID, nickname string) {
	key := nicknameKey(nickname)
	n.held[chatterID] = key
	n.had[key] = true
}

// observe takes the stored event at position seq (alert: its structured form, or nil).
func (n *roomNames) observe(seq int64, chatterID string, alert *Alert) {
	n.mu.Lock()
	defer n.mu.Unlock()
	switch {
	case n.unknown:
		n.ahead = max(n.ahead, seq)
	case seq <= n.seen:
		return // seen already
	case seq == n.seen+1:
		n.seen = seq
	default:
		n.seen = -1 // something was missed: never current again
	}
	if alert == nil {
		return
	}
	switch alert.Kind {
	case AlertJoin:
		n.noteLocked(chatterID, alert.Nickname)
	case AlertRename:
		n.noteLocked(chatterID, alert.NewNickname)
	}
}

// heldByOther reports whether a member other than chatterID has the nickname now.
func (n *roomNames) heldByOther(chatterID, nickname string) bool {
	key := nicknameKey(nickname)
	n.mu.Lock()
	defer n.mu.Unlock()
	for id, k := range n.held {
		if k == key && id != chatterID {
			return true
		}
	}
	return false
}

// pick draws a nickname no member has had, in locale, and records it as chatterID's.
func (n *roomNames) pick(chatterID, locale string) string {
	n.mu.Lock()
	defer n.mu.Unlock()
	name := randomNickname(locale, n.had)
	n.noteLocked(chatterID, name)
	return name
}

// names returns the room's names: the cached ones while they are current, else the store's.
// The room lock is held, so on this node the joins and renames of the room see each other's.
func (s *Service) names(ctx context.Context, roomID string) (*roomNames, error) {
	delivered, hosted := s.streams.delivered(roomID)
	if n, ok := s.nameCache.get(roomID); ok && hosted {
		n.mu.Lock()
		current := !n.unknown && n.seen == delivered
		n.mu.Unlock()
		if current {
			return n, nil
		}
	}
	n := newRoomNames(0)
	if hosted {
		// Cached before the position is read: what the stream delivers from then on is
		// observed, and the read from the store covers what came before.
		n.unknown = true
		s.nameCache.put(roomID, n)
		at, _ := s.streams.delivered(roomID)
		n.mu.Lock()
		n.seen, n.unknown = max(at, n.ahead), false
		n.mu.Unlock()
	}
	members, err := s.store.RoomChatters(ctx, roomID)
	if err != nil {
		s.nameCache.remove(roomID)
		return nil, fmt.Errorf("list room chatters: %w", err)
	}
	ids := make([]string, len(members))
	for i, m := range members {
		ids[i] = m.ChatterID
	}
	cs, err := s.chatters(ctx, ids)
	if err != nil {
		s.nameCache.remove(roomID)
		return nil, fmt.Errorf("room chatters: %w", err)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	for id, c := range cs {
		key := nicknameKey(c.Nickname)
		if _, known := n.held[id]; !known { // what the stream brought is newer
			n.held[id] = key
		}
		n.had[key] = true
	}
	return n, nil
}

// observeNames feeds the room's ordered stream to its cached names. It runs under the
// room's delivery lock and only touches the cache.
func (s *Service) observeNames(ev Event) {
	if ev.Message == nil || ev.Message.Seq <= 0 {
		return
	}
	if n, ok := s.nameCache.get(ev.RoomID); ok {
		n.observe(ev.Message.Seq, ev.Message.ChatterID, ev.Message.Alert)
	}
}

// newNickname names a chatter joining the room for the first time, in its language
// (locale "" is the server's). The room lock is held.
func (s *Service) newNickname(ctx context.Context, roomID, chatterID, locale string) (string, error) {
	n, err := s.names(ctx, roomID)
	if err != nil {
		return "", err
	}
	if locale = NormalizeLocale(locale); locale == "" {
		locale = s.cfg.Locale
	}
	return n.pick(chatterID, locale), nil
}
