package httpapi

import (
	"net/http"
	"strconv"
	"strings"

	"colachat/internal/chat"
	"colachat/internal/wire"
)

// roomDetail is a room with its memberships, always as an array (wire.Room omits an empty
// one, but the original's room detail always has it), and how many chatters are online (an
// addition: what the capacity counts, so an entry screen can say the room is full).
type roomDetail struct {
	wire.Room
	RoomChatters []wire.RoomChatter `json:"roomChatters"`
	Online       int                `json:"online"`
}

func (a *API) createRoom(w http.ResponseWriter, r *http.Request) {
	in, err := readCreateRoom(w, r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	room, err := a.svc.CreateRoom(r.Context(), in)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.ok(w, http.StatusCreated, wire.FromRoom(room))
}

func readCreateRoom(w http.ResponseWriter, r *http.Request) (chat.CreateRoomInput, error) {
	var in chat.CreateRoomInput
	obj, err := readObject(w, r, false)
	if err != nil {
		return in, err
	}
	if in.Namespace, err = obj.str("namespace", true); err != nil {
		return in, err
	}
	if in.Title, err = obj.str("title", true); err != nil {
		return in, err
	}
	if in.Capacity, err = obj.integer("capacity"); err != nil {
		return in, err
	}
	if in.IsPassword, err = obj.boolean("isPassword", false); err != nil {
		return in, err
	}
	if in.Password, err = obj.str("password", false); err != nil {
		return in, err
	}
	// The original client always sends password, "" when the room has none; the original
	// server refuses a password without isPassword and the reverse with its generic text.
	if in.IsPassword != (in.Password != "") {
		return in, &chat.Error{Code: chat.CodeBadRequest}
	}
	return in, nil
}

func (a *API) listRooms(w http.ResponseWriter, r *http.Request) {
	rooms, err := a.svc.Rooms(r.Context())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.ok(w, http.StatusOK, wire.FromRooms(rooms))
}

// limits answers this deployment's input limits (an addition), so a client offers only the
// room sizes it may create.
func (a *API) limits(w http.ResponseWriter, r *http.Request) {
	a.ok(w, http.StatusOK, a.svc.Limits())
}

func (a *API) roomDetail(w http.ResponseWriter, r *http.Request) {
	room, members, err := a.svc.RoomDetail(r.Context(), r.PathValue("roomId"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	online, err := a.svc.OnlineCount(r.Context(), room.ID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	d := roomDetail{Room: wire.FromRoom(room), RoomChatters: make([]wire.RoomChatter, len(members)), Online: online}
	for i, m := range members {
		d.RoomChatters[i] = wire.FromRoomChatter(m)
	}
	a.ok(w, http.StatusOK, d)
}

func (a *API) accessCheck(w http.ResponseWriter, r *http.Request) {
	obj, err := readObject(w, r, true)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	password, err := obj.str("password", false)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	allowed, ticket, err := a.svc.AccessCheck(r.Context(), r.PathValue("roomId"), password)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if !allowed {
		// success with null data: the original client asks for the password again.
		a.ok(w, http.StatusOK, nil)
		return
	}
	env := wire.OK(true)
	env.Ticket = ticket
	a.writeEnvelope(w, http.StatusOK, env)
}

func (a *API) reentryCheck(w http.ResponseWriter, r *http.Request) {
	ok, err := a.svc.ReentryCheck(r.Context(), r.PathValue("roomId"), r.PathValue("chatterId"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.ok(w, http.StatusOK, ok)
}

func (a *API) history(w http.ResponseWriter, r *http.Request) {
	q, err := readHistoryQuery(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	msgs, err := a.svc.History(r.Context(), q)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.ok(w, http.StatusOK, wire.FromMessages(msgs))
}

// defaultLimit is the cursor page size when ?before or ?after come without ?limit.
const defaultLimit = 50

func readHistoryQuery(r *http.Request) (chat.HistoryQuery, error) {
	q := chat.HistoryQuery{
		RoomID:    r.PathValue("roomId"),
		ChatterID: r.PathValue("chatterId"),
		Token:     bearer(r),
	}
	page, ok := positive(r.PathValue("page"))
	if !ok || page < 1 {
		return q, badRequest("page: an integer from 1")
	}
	q.Page = int(page)
	values := r.URL.Query()
	cursor := false
	for _, p := range []struct {
		name string
		dst  *int64
		min  int64
	}{{"before", &q.Before, 1}, {"after", &q.After, 0}} {
		if !values.Has(p.name) {
			continue
		}
		n, ok := positive(values.Get(p.name))
		if !ok || n < p.min {
			return q, badRequest(p.name + ": a message id")
		}
		*p.dst, cursor = n, true
	}
	q.HasAfter = values.Has("after")
	if values.Has("limit") {
		n, ok := positive(values.Get("limit"))
		if !ok || n < 1 || n > 100 {
			return q, badRequest("limit: an integer from 1 to 100")
		}
		q.Limit, cursor = int(n), true
	}
	if cursor && q.Limit == 0 {
		q.Limit = defaultLimit
	}
	return q, nil
}

// positive parses a string of ASCII digits (no sign) that fits an int64.
func positive(s string) (int64, bool) {
	if s == "" || len(s) > 18 {
		return 0, false
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

func (a *API) rename(w http.ResponseWriter, r *http.Request) {
	obj, err := readObject(w, r, false)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	nickname, err := obj.str("nickname", true)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	c, err := a.svc.Rename(r.Context(), r.PathValue("chatterId"), bearer(r), nickname)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.ok(w, http.StatusOK, wire.FromChatter(c))
}

// bearer is the token of an "Authorization: Bearer <token>" header, "" without one.
func bearer(r *http.Request) string {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}
