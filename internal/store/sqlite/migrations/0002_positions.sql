-- Every message gets its position in its room: 1, 2, 3, ... without gaps. The single writer
-- takes the next one from the room's (room_id, seq) index in the message's own INSERT, so no
-- counter row needs writing. Live delivery, recovery and history all follow this one order
-- (within a room, the order of ids too, which history cursors keep using).
ALTER TABLE messages ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;

UPDATE messages SET seq = numbered.n
FROM (SELECT id, row_number() OVER (PARTITION BY room_id ORDER BY id) AS n FROM messages) AS numbered
WHERE messages.id = numbered.id;

CREATE UNIQUE INDEX messages_room_seq ON messages (room_id, seq);

-- A chatter's first message in a room (its join alert) is kept with its membership, so
-- history and recovery find where the chatter's view starts without an index of messages by
-- chatter, which every message would pay for.
ALTER TABLE room_chatters ADD COLUMN first_message_id INTEGER;

UPDATE room_chatters SET first_message_id = (
    SELECT min(id) FROM messages
    WHERE messages.room_id = room_chatters.room_id AND messages.chatter_id = room_chatters.chatter_id);

DROP INDEX messages_room_chatter;
