-- Fount schema, SQLite flavour. Times are seconds since the Unix epoch (INTEGER), ids are
-- UUID text, key material is sealed under the key-encryption key before it gets here.

CREATE TABLE stores (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    device_limit    INTEGER NOT NULL DEFAULT 5 CHECK (device_limit > 0),
    offline_seconds INTEGER NOT NULL DEFAULT 604800 CHECK (offline_seconds > 0),
    allowed_origins TEXT NOT NULL DEFAULT '[]',
    created_at      INTEGER NOT NULL
);

CREATE TABLE api_keys (
    id          TEXT PRIMARY KEY,
    store_id    TEXT NOT NULL REFERENCES stores(id),
    secret_hash BLOB NOT NULL,
    label       TEXT NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER
);
CREATE INDEX api_keys_store ON api_keys(store_id);

CREATE TABLE signing_keys (
    kid         TEXT PRIMARY KEY,
    public_jwk  TEXT NOT NULL,
    private_key BLOB NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE titles (
    id           TEXT PRIMARY KEY,
    store_id     TEXT NOT NULL REFERENCES stores(id),
    name         TEXT NOT NULL,
    author       TEXT,
    language     TEXT,
    price        TEXT,
    currency     TEXT,
    checkout_url TEXT,
    cover_url    TEXT,
    key_id       TEXT NOT NULL UNIQUE,
    content_key  BLOB NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX titles_store ON titles(store_id, created_at);

CREATE TABLE tracks (
    title_id        TEXT NOT NULL REFERENCES titles(id),
    position        INTEGER NOT NULL,
    name            TEXT NOT NULL,
    media_type      TEXT NOT NULL,
    duration        REAL NOT NULL,
    original_length INTEGER NOT NULL,
    sealed_length   INTEGER NOT NULL,
    file            TEXT NOT NULL UNIQUE,
    sha256          TEXT NOT NULL,
    chapters        TEXT NOT NULL DEFAULT '[]',
    created_at      INTEGER NOT NULL,
    PRIMARY KEY (title_id, position)
);

CREATE TABLE customers (
    id          TEXT PRIMARY KEY,
    store_id    TEXT NOT NULL REFERENCES stores(id),
    external_id TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    UNIQUE (store_id, external_id)
);

CREATE TABLE entitlements (
    id          TEXT PRIMARY KEY,
    store_id    TEXT NOT NULL REFERENCES stores(id),
    customer_id TEXT NOT NULL REFERENCES customers(id),
    -- The store's id for the customer, copied so responses need no join.
    customer_ref TEXT NOT NULL,
    title_id    TEXT NOT NULL REFERENCES titles(id),
    kind        TEXT NOT NULL CHECK (kind IN ('purchase', 'rental')),
    starts_at   INTEGER NOT NULL,
    ends_at     INTEGER,
    source      TEXT NOT NULL,
    reference   TEXT,
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER,
    UNIQUE (store_id, reference)
);
CREATE INDEX entitlements_customer_title ON entitlements(customer_id, title_id);

CREATE TABLE devices (
    id          TEXT PRIMARY KEY,
    store_id    TEXT NOT NULL REFERENCES stores(id),
    customer_id TEXT NOT NULL REFERENCES customers(id),
    jkt         TEXT NOT NULL,
    public_jwk  TEXT NOT NULL,
    name        TEXT NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER
);
CREATE UNIQUE INDEX devices_active ON devices(customer_id, jkt) WHERE revoked_at IS NULL;

CREATE TABLE licenses (
    id                TEXT PRIMARY KEY,
    store_id          TEXT NOT NULL REFERENCES stores(id),
    customer_id       TEXT NOT NULL REFERENCES customers(id),
    customer_ref      TEXT NOT NULL,
    title_id          TEXT NOT NULL REFERENCES titles(id),
    device_id         TEXT NOT NULL REFERENCES devices(id),
    device_jkt        TEXT NOT NULL,
    entitlement_id    TEXT NOT NULL REFERENCES entitlements(id),
    status            TEXT NOT NULL CHECK (status IN ('active', 'returned', 'revoked')),
    not_before        INTEGER NOT NULL,
    expires_at        INTEGER,
    renew_by          INTEGER NOT NULL,
    issued_at         INTEGER NOT NULL,
    status_updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX licenses_active ON licenses(device_id, title_id) WHERE status = 'active';
CREATE INDEX licenses_customer ON licenses(customer_id, title_id);
CREATE INDEX licenses_entitlement ON licenses(entitlement_id);
