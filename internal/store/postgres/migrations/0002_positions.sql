-- Every message gets its position in its room: 1, 2, 3, ... without gaps, assigned in the
-- message's own transaction from the room's counter (whose row lock also serializes a room's
-- writers, so within a room positions follow ids). Live delivery, recovery and history all
-- follow this one order.
ALTER TABLE rooms ADD COLUMN last_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN seq BIGINT;

UPDATE messages SET seq = numbered.n
FROM (SELECT id, row_number() OVER (PARTITION BY room_id ORDER BY id) AS n FROM messages) AS numbered
WHERE messages.id = numbered.id;

ALTER TABLE messages ALTER COLUMN seq SET NOT NULL;
UPDATE rooms SET last_seq = coalesce((SELECT max(seq) FROM messages WHERE messages.room_id = rooms.id), 0);

CREATE UNIQUE INDEX messages_room_seq ON messages (room_id, seq);
