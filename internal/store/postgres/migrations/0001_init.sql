CREATE TABLE rooms (
    id            TEXT PRIMARY KEY,
    title         TEXT NOT NULL,
    namespace     TEXT NOT NULL,
    password_hash TEXT NOT NULL DEFAULT '',
    capacity      INTEGER NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    expires_at    TIMESTAMPTZ NOT NULL,
    is_password   BOOLEAN NOT NULL DEFAULT FALSE,
    is_expired    BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX rooms_expires_at ON rooms (expires_at);
CREATE INDEX rooms_created_at ON rooms (created_at DESC);

CREATE TABLE chatters (
    id         TEXT PRIMARY KEY,
    nickname   TEXT NOT NULL,
    token_hash BYTEA,
    created_at TIMESTAMPTZ NOT NULL,
    deleted_at TIMESTAMPTZ,
    is_active  BOOLEAN NOT NULL DEFAULT TRUE
);

CREATE TABLE room_chatters (
    id         BIGSERIAL PRIMARY KEY,
    room_id    TEXT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    chatter_id TEXT NOT NULL REFERENCES chatters (id) ON DELETE CASCADE,
    joined_at  TIMESTAMPTZ NOT NULL,
    left_at    TIMESTAMPTZ,
    is_active  BOOLEAN NOT NULL DEFAULT TRUE,
    UNIQUE (room_id, chatter_id)
);
CREATE INDEX room_chatters_chatter ON room_chatters (chatter_id) WHERE is_active;

CREATE TABLE messages (
    id         BIGSERIAL PRIMARY KEY,
    type       TEXT NOT NULL,
    content    TEXT NOT NULL,
    sent_at    TIMESTAMPTZ NOT NULL,
    room_id    TEXT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    chatter_id TEXT NOT NULL,
    alert      JSONB
);
CREATE INDEX messages_room_id ON messages (room_id, id);
CREATE INDEX messages_room_chatter ON messages (room_id, chatter_id, id);
