package chat

import (
	"math/rand/v2"
	"strconv"
)

// A new chatter is named like in the original (one of its six names, translated in
// English) while one of those is free among the chatters online; after that, an adjective
// and a noun. Every name is at most 10 characters, the nickname limit.
var nicknameWords = map[string]struct{ plain, adjectives, nouns []string }{
	"ko": {
		plain: []string{"개구리", "메뚜기", "멸치", "너구리", "코끼리", "올빼미"},
		adjectives: []string{
			"졸린", "배고픈", "행복한", "용감한", "수줍은", "느긋한", "씩씩한", "엉뚱한",
			"귀여운", "명랑한", "똑똑한", "신나는", "조용한", "부지런한", "상냥한", "든든한",
		},
		nouns: []string{
			"개구리", "메뚜기", "멸치", "너구리", "코끼리", "올빼미", "고양이", "강아지",
			"다람쥐", "펭귄", "수달", "판다", "호랑이", "토끼", "거북이", "고등어",
			"떡볶이", "만두", "호떡", "김밥", "붕어빵", "감자", "고구마", "단팥빵",
		},
	},
	"en": {
		plain: []string{"Frog", "Locust", "Anchovy", "Raccoon", "Elephant", "Owl"},
		adjectives: []string{
			"Shy", "Calm", "Bold", "Cozy", "Lazy", "Wise", "Keen", "Glad", "Tiny",
			"Cool", "Kind", "Neat", "Zany", "Wild", "Fond", "Busy", "Cute", "Sly",
		},
		nouns: []string{
			"Otter", "Fox", "Owl", "Panda", "Koala", "Moose", "Hare", "Lynx", "Seal", "Crab",
			"Goose", "Bison", "Llama", "Yak", "Wren", "Finch", "Mole", "Newt", "Frog", "Toad",
			"Bagel", "Taco", "Mango", "Peach", "Bun",
		},
	},
}

// randomNickname picks a nickname not in taken: a free original name, else a random free
// combination, else a numbered noun.
func randomNickname(locale string, taken map[string]bool) string {
	words, ok := nicknameWords[locale]
	if !ok {
		words = nicknameWords["ko"]
	}
	for _, i := range rand.Perm(len(words.plain)) {
		if n := words.plain[i]; !taken[n] {
			return n
		}
	}
	pick := func() string {
		return words.adjectives[rand.IntN(len(words.adjectives))] + " " + words.nouns[rand.IntN(len(words.nouns))]
	}
	for range 64 {
		if n := pick(); !taken[n] {
			return n
		}
	}
	// Every combination seen taken: enumerate, then fall back to a numbered short noun.
	for _, a := range words.adjectives {
		for _, n := range words.nouns {
			if name := a + " " + n; !taken[name] {
				return name
			}
		}
	}
	for i := 1; ; i++ {
		name := words.nouns[rand.IntN(len(words.nouns))] + strconv.Itoa(i)
		if !taken[name] {
			return name
		}
	}
}
