package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// reads holds the queries of the read paths, prepared once for the reader pool
// (database/sql prepares each again on every pooled connection it runs on, once).
type reads struct {
	all []*sql.Stmt // for close

	room, rooms, expiredRooms         *sql.Stmt
	chatter, chatters                 *sql.Stmt
	roomChatters, activeRooms         *sql.Stmt
	firstMessage, page, before, after *sql.Stmt
	seq, lastSeq                      *sql.Stmt
}

func prepareReads(ctx context.Context, db *sql.DB) (*reads, error) {
	r := &reads{}
	for _, p := range []struct {
		stmt  **sql.Stmt
		query string
	}{
		{&r.room, roomQuery},
		{&r.rooms, roomsQuery},
		{&r.expiredRooms, expiredRoomsQuery},
		{&r.chatter, chatterQuery},
		{&r.chatters, chattersQuery},
		{&r.roomChatters, roomChattersQuery},
		{&r.activeRooms, activeRoomsQuery},
		{&r.firstMessage, firstMessageQuery},
		{&r.page, pageQuery},
		{&r.before, beforeQuery},
		{&r.after, afterQuery},
		{&r.seq, seqQuery},
		{&r.lastSeq, lastSeqQuery},
	} {
		st, err := db.PrepareContext(ctx, p.query)
		if err != nil {
			r.close()
			return nil, fmt.Errorf("prepare %q: %w", p.query, err)
		}
		*p.stmt = st
		r.all = append(r.all, st)
	}
	return r, nil
}

func (r *reads) close() error {
	var errs []error
	for _, st := range r.all {
		errs = append(errs, st.Close())
	}
	return errors.Join(errs...)
}
