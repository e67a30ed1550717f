-- The console's people and their sessions. An operator sees every store; a store's staff see
-- theirs only. Passwords are kept as Argon2id PHC strings; a session as the SHA-256 of the
-- secret in its cookie, so a copy of the database opens no session.
CREATE TABLE console_users (
    id              TEXT PRIMARY KEY,
    email           TEXT NOT NULL UNIQUE,
    password_hash   TEXT NOT NULL,
    role            TEXT NOT NULL CHECK (role IN ('operator', 'staff')),
    store_id        TEXT REFERENCES stores(id),
    failed_sign_ins BIGINT NOT NULL DEFAULT 0,
    locked_until    BIGINT,
    created_at      BIGINT NOT NULL,
    disabled_at     BIGINT,
    CHECK ((role = 'operator' AND store_id IS NULL) OR (role = 'staff' AND store_id IS NOT NULL))
);

CREATE TABLE console_sessions (
    id_hash      BYTEA PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES console_users(id) ON DELETE CASCADE,
    csrf         TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX console_sessions_user ON console_sessions(user_id);
CREATE INDEX console_sessions_expiry ON console_sessions(expires_at);
