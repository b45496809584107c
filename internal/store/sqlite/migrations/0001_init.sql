-- The Cola Chat schema: rooms, anonymous chatters, their memberships and the messages.
-- Times are unix milliseconds (UTC), so ordering and comparisons are plain integer ones.

CREATE TABLE rooms (
    id            TEXT    PRIMARY KEY,
    title         TEXT    NOT NULL,
    namespace     TEXT    NOT NULL,
    password_hash TEXT    NOT NULL DEFAULT '',
    capacity      INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    is_password   INTEGER NOT NULL DEFAULT 0,
    is_expired    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX rooms_created_at ON rooms (created_at);
CREATE INDEX rooms_expires_at ON rooms (expires_at);

CREATE TABLE chatters (
    id         TEXT    PRIMARY KEY,
    nickname   TEXT    NOT NULL,
    token_hash BLOB,
    created_at INTEGER NOT NULL,
    deleted_at INTEGER,
    is_active  INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE room_chatters (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    room_id    TEXT    NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    chatter_id TEXT    NOT NULL REFERENCES chatters (id) ON DELETE CASCADE,
    joined_at  INTEGER NOT NULL,
    left_at    INTEGER,
    is_active  INTEGER NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX room_chatters_room_chatter ON room_chatters (room_id, chatter_id);
CREATE INDEX room_chatters_chatter ON room_chatters (chatter_id);

-- AUTOINCREMENT: ids are never reused, even after a purge, so cursors and recovery offsets
-- stay meaningful.
CREATE TABLE messages (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    type               TEXT    NOT NULL CHECK (type IN ('MESSAGE', 'ALERT')),
    content            TEXT    NOT NULL,
    sent_at            INTEGER NOT NULL,
    room_id            TEXT    NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    chatter_id         TEXT    NOT NULL REFERENCES chatters (id) ON DELETE CASCADE,
    alert_kind         TEXT,
    alert_nickname     TEXT,
    alert_new_nickname TEXT
);
CREATE INDEX messages_room_id ON messages (room_id, id);
CREATE INDEX messages_room_chatter ON messages (room_id, chatter_id, id);
