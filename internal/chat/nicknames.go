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
// English) while one of those is free in the room; after that, an adjective and a noun.
// Every name is at most 10 characters, the nickname limit; each language has well over
// twice MaxCapacity combinations, so a full room of people who come and go still draws
// names nobody in it has had.
var nicknameWords = map[string]struct{ plain, adjectives, nouns []string }{
	"ko": {
		plain: []string{"개구리", "메뚜기", "멸치", "너구리", "코끼리", "올빼미"},
		adjectives: []string{
			"졸린", "배고픈", "행복한", "용감한", "수줍은", "느긋한", "씩씩한", "엉뚱한",
			"귀여운", "명랑한", "똑똑한", "신나는", "조용한", "부지런한", "상냥한", "든든한",
			"날쌘", "푸른", "작은", "커다란", "말랑한", "반짝이는", "포근한", "새침한",
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
		},
		nouns: []string{
			"Otter", "Fox", "Owl", "Panda", "Koala", "Moose", "Hare", "Lynx", "Seal", "Crab",
			"Goose", "Bison", "Llama", "Yak", "Wren", "Finch", "Mole", "Newt", "Frog", "Toad",
			"Bagel", "Taco", "Mango", "Peach", "Bun", "Robin", "Whale", "Lemur", "Kiwi", "Mouse",
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
// them: read from the store once (a room created here starts empty), then kept current by
// this node's joins and renames and by the join and rename alerts of the other nodes, which
// every node sees (observeNames). A name stays its holder's for the room's life, since its
// holder may come back with its token: a newcomer never gets the name of someone who just
// left, and a rename never takes the name of someone who is away.
type roomNames struct {
	mu   sync.Mutex
	held map[string]string // member chatter id → the key of the nickname it has now
	had  map[string]bool   // the key of every nickname a member has had in the room
}

func newRoomNames() *roomNames {
	return &roomNames{held: make(map[string]string), had: make(map[string]bool)}
}

// note records that chatterID is called nickname in the room.
func (n *roomNames) note(chatterID, nickname string) {
	key := nicknameKey(nickname)
	n.mu.Lock()
	defer n.mu.Unlock()
	n.held[chatterID] = key
	n.had[key] = true
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
	name := randomNickname(locale, n.had)
	n.mu.Unlock()
	n.note(chatterID, name)
	return name
}

// names returns the room's names, reading them from the store when this node has none. The
// room lock is held, so on this node the joins and renames of the room see each other's.
func (s *Service) names(ctx context.Context, roomID string) (*roomNames, error) {
	if n, ok := s.nameCache.get(roomID); ok {
		return n, nil
	}
	// Cached before the read, so alerts observed meanwhile are kept; the read adds to them.
	n := newRoomNames()
	s.nameCache.put(roomID, n)
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
	for id, c := range cs {
		key := nicknameKey(c.Nickname)
		if _, known := n.held[id]; !known {
			n.held[id] = key
		}
		n.had[key] = true
	}
	n.mu.Unlock()
	return n, nil
}

// observeNames keeps the cached names current with the joins and renames of other nodes.
func (s *Service) observeNames(ev Event) {
	if ev.Kind != EventAlert || ev.Message == nil || ev.Message.Alert == nil {
		return
	}
	var nickname string
	switch a := ev.Message.Alert; a.Kind {
	case AlertJoin:
		nickname = a.Nickname
	case AlertRename:
		nickname = a.NewNickname
	default:
		return
	}
	if n, ok := s.nameCache.get(ev.RoomID); ok {
		n.note(ev.Message.ChatterID, nickname)
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
