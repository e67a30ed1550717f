-- Hardening: readiness that proves the database takes writes, stable keys for paging, and
-- payments kept whether or not they could be granted.

-- One row, rewritten by every readiness check (GET /health/ready): a read would pass on a
-- database that has gone read-only.
CREATE TABLE health_checks (
    id         BIGINT PRIMARY KEY CHECK (id = 1),
    checked_at BIGINT NOT NULL
);

-- Lists page by a time that never changes once a row exists: a license's issued_at moves when
-- it is renewed, so it gets a creation time of its own.
ALTER TABLE licenses ADD COLUMN created_at BIGINT NOT NULL DEFAULT 0;
UPDATE licenses SET created_at = issued_at;
CREATE INDEX licenses_store_created ON licenses(store_id, created_at, id);
CREATE INDEX entitlements_store_created ON entitlements(store_id, created_at, id);
CREATE INDEX devices_customer_created ON devices(customer_id, created_at, id);

-- Payments a provider reported, granted or not: a paid checkout that names no customer (the
-- payer was not signed in) or no title is kept here, unmatched, for the store to assign, and
-- a refund finds what it bought by payment_intent.
CREATE TABLE payments (
    id             TEXT PRIMARY KEY,
    store_id       TEXT NOT NULL REFERENCES stores(id),
    provider       TEXT NOT NULL,
    reference      TEXT NOT NULL,
    payment_intent TEXT,
    title_id       TEXT REFERENCES titles(id),
    customer_ref   TEXT,
    email          TEXT,
    amount         BIGINT,
    currency       TEXT,
    status         TEXT NOT NULL CHECK (status IN ('granted', 'unmatched', 'refunded')),
    reason         TEXT,
    entitlement_id TEXT REFERENCES entitlements(id),
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    UNIQUE (store_id, provider, reference)
);
CREATE INDEX payments_store_created ON payments(store_id, created_at, id);
CREATE INDEX payments_intent ON payments(store_id, payment_intent);

-- Cover art read from an uploaded file (MP4 `covr`, ID3 `APIC`), kept as a file in the asset
-- store and shown when the store has not set a cover of its own.
ALTER TABLE titles ADD COLUMN cover_file TEXT;
ALTER TABLE titles ADD COLUMN cover_type TEXT;
