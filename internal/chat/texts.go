package chat

// alertTexts are the server-made alert texts per locale. The Korean ones are the original
// server's, word for word: the original client shows them as they are.
type alertTexts struct {
	join, leave, rename, expire func(a Alert) string
}

var alertTextsByLocale = map[string]alertTexts{
	"ko": {
		join:   func(a Alert) string { return a.Nickname + "님이 입장했습니다." },
		leave:  func(a Alert) string { return a.Nickname + "님이 퇴장했습니다." },
		rename: koreanRenameNotice,
		expire: func(Alert) string { return "채팅방이 만료되었습니다." },
	},
	"en": {
		join:   func(a Alert) string { return a.Nickname + " joined." },
		leave:  func(a Alert) string { return a.Nickname + " left." },
		rename: func(a Alert) string { return a.Nickname + " is now " + a.NewNickname + "." },
		expire: func(Alert) string { return "This chat room has expired." },
	},
}

// koreanRenameNotice is also the text the original client sends itself after a rename.
func koreanRenameNotice(a Alert) string {
	return a.Nickname + "님의 닉네임이 " + a.NewNickname + "로 변경되었습니다."
}

// AlertText renders a structured alert in a locale ("ko" or "en"; anything else is Korean).
func AlertText(a Alert, locale string) string {
	t, ok := alertTextsByLocale[locale]
	if !ok {
		t = alertTextsByLocale["ko"]
	}
	switch a.Kind {
	case AlertJoin:
		return t.join(a)
	case AlertLeave:
		return t.leave(a)
	case AlertRename:
		return t.rename(a)
	case AlertExpire:
		return t.expire(a)
	}
	return ""
}
