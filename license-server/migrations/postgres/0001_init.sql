-- Fount schema, PostgreSQL flavour. Times are seconds since the Unix epoch (BIGINT), ids are
-- UUID text, key material is sealed under the key-encryption key before it gets here.

CREATE TABLE stores (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    device_limit    BIGINT NOT NULL DEFAULT 5 CHECK (device_limit > 0),
    offline_seconds BIGINT NOT NULL DEFAULT 604800 CHECK (offline_seconds > 0),
    allowed_origins TEXT NOT NULL DEFAULT '[]',
    created_at      BIGINT NOT NULL
);

CREATE TABLE api_keys (
    id          TEXT PRIMARY KEY,
    store_id    TEXT NOT NULL REFERENCES stores(id),
    secret_hash BYTEA NOT NULL,
    label       TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    revoked_at  BIGINT
);
CREATE INDEX api_keys_store ON api_keys(store_id);

CREATE TABLE signing_keys (
    kid         TEXT PRIMARY KEY,
    public_jwk  TEXT NOT NULL,
    private_key BYTEA NOT NULL,
    created_at  BIGINT NOT NULL
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
    content_key  BYTEA NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
CREATE INDEX titles_store ON titles(store_id, created_at);

CREATE TABLE tracks (
    title_id        TEXT NOT NULL REFERENCES titles(id),
    position        BIGINT NOT NULL,
    name            TEXT NOT NULL,
    media_type      TEXT NOT NULL,
    duration        DOUBLE PRECISION NOT NULL,
    original_length BIGINT NOT NULL,
    sealed_length   BIGINT NOT NULL,
    file            TEXT NOT NULL UNIQUE,
    sha256          TEXT NOT NULL,
    chapters        TEXT NOT NULL DEFAULT '[]',
    created_at      BIGINT NOT NULL,
    PRIMARY KEY (title_id, position)
);

CREATE TABLE customers (
    id          TEXT PRIMARY KEY,
    store_id    TEXT NOT NULL REFERENCES stores(id),
    external_id TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
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
    starts_at   BIGINT NOT NULL,
    ends_at     BIGINT,
    source      TEXT NOT NULL,
    reference   TEXT,
    created_at  BIGINT NOT NULL,
    revoked_at  BIGINT,
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
    created_at  BIGINT NOT NULL,
    revoked_at  BIGINT
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
    not_before        BIGINT NOT NULL,
    expires_at        BIGINT,
    renew_by          BIGINT NOT NULL,
    issued_at         BIGINT NOT NULL,
    status_updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX licenses_active ON licenses(device_id, title_id) WHERE status = 'active';
CREATE INDEX licenses_customer ON licenses(customer_id, title_id);
CREATE INDEX licenses_entitlement ON licenses(entitlement_id);
