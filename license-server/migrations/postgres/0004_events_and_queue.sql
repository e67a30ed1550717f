-- Events, the job queue, webhooks (docs/events.md).

-- The event log: every change, written in the transaction that makes it.
CREATE TABLE events (
    seq        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id         TEXT NOT NULL UNIQUE,
    store_id   TEXT NOT NULL,
    type       TEXT NOT NULL,
    data       TEXT NOT NULL,
    actor      TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    -- The writing transaction. The log's order is (txid, seq), and a poll returns only
    -- events of transactions older than every one still running, so no event can appear
    -- behind a cursor (docs/events.md, Ordering).
    txid       BIGINT NOT NULL DEFAULT (pg_current_xact_id()::text::bigint)
);
CREATE INDEX events_store ON events(store_id, txid, seq);
CREATE INDEX events_position ON events(txid, seq);
CREATE INDEX events_created ON events(created_at);

-- Positions of the workers' periodic tasks: how far the webhook fan-out has read the log
-- (txid, seq), up to when rentals' ends were scanned, when retention last ran. A task locks
-- its row while it works, so one process at a time runs it.
CREATE TABLE cursors (
    name     TEXT PRIMARY KEY,
    txid     BIGINT NOT NULL DEFAULT 0,
    position BIGINT NOT NULL DEFAULT 0
);
-- Rentals that ended before this migration raise no license.expired event.
INSERT INTO cursors (name, position) VALUES ('webhook.fanout', 0), ('license.expiry', EXTRACT(EPOCH FROM now())::bigint), ('retention', 0);

-- The queue. Times are milliseconds since the epoch.
CREATE TABLE jobs (
    id           TEXT PRIMARY KEY,
    kind         TEXT NOT NULL,
    payload      TEXT NOT NULL,
    store_id     TEXT,
    priority     BIGINT NOT NULL DEFAULT 0,
    run_at       BIGINT NOT NULL,
    unique_key   TEXT,
    state        TEXT NOT NULL CHECK (state IN ('queued', 'running', 'completed', 'dead')),
    attempts     BIGINT NOT NULL DEFAULT 0,
    max_attempts BIGINT NOT NULL,
    lease_until  BIGINT,
    worker       TEXT,
    last_error   TEXT,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    finished_at  BIGINT,
    result       TEXT
);
-- One job per key while it is waiting or running.
CREATE UNIQUE INDEX jobs_unique ON jobs(unique_key) WHERE unique_key IS NOT NULL AND state IN ('queued', 'running');
-- A claim reads the waiting jobs in order from one, and the ended leases from the other (two
-- index scans, each stopping at the batch's size, whatever the planner's statistics say).
CREATE INDEX jobs_due ON jobs(priority DESC, run_at, id) WHERE state = 'queued';
CREATE INDEX jobs_leases ON jobs(lease_until) WHERE state = 'running';
CREATE INDEX jobs_store ON jobs(store_id, created_at);
CREATE INDEX jobs_finished ON jobs(finished_at) WHERE state = 'completed';
CREATE INDEX jobs_dead ON jobs(updated_at, id) WHERE state = 'dead';

-- What the queue's probe jobs did (fount-server queue probe): one row per execution, so a job
-- done twice would show.
CREATE TABLE queue_probes (
    job_id  TEXT NOT NULL,
    key     TEXT NOT NULL,
    worker  TEXT NOT NULL,
    done_at BIGINT NOT NULL
);
CREATE INDEX queue_probes_key ON queue_probes(key);

-- Keys for the operator's API (queue health, dead jobs); only their hash is kept.
CREATE TABLE operator_keys (
    id          TEXT PRIMARY KEY,
    secret_hash BYTEA NOT NULL,
    label       TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    revoked_at  BIGINT
);

-- Tracks are packaged by a worker: processing until published or failed.
ALTER TABLE tracks ADD COLUMN status TEXT NOT NULL DEFAULT 'published' CHECK (status IN ('processing', 'published', 'failed'));
ALTER TABLE tracks ADD COLUMN error TEXT;
ALTER TABLE tracks ADD COLUMN job_id TEXT;

-- Rentals' ends, scanned for license.expired events.
CREATE INDEX licenses_expires ON licenses(expires_at) WHERE expires_at IS NOT NULL;

-- Webhooks.
CREATE TABLE webhook_endpoints (
    id              TEXT PRIMARY KEY,
    store_id        TEXT NOT NULL REFERENCES stores(id),
    url             TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    types           TEXT NOT NULL DEFAULT '[]',
    enabled         BOOLEAN NOT NULL DEFAULT TRUE,
    -- Sealed under the KEK; during a rotation the previous secret signs too, until then.
    secret          BYTEA NOT NULL,
    previous_secret BYTEA,
    previous_until  BIGINT,
    failing_since   BIGINT,
    disabled_reason TEXT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX webhook_endpoints_store ON webhook_endpoints(store_id, created_at, id);

CREATE TABLE webhook_deliveries (
    id              TEXT PRIMARY KEY,
    endpoint_id     TEXT NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
    store_id        TEXT NOT NULL,
    event_id        TEXT NOT NULL,
    event_type      TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts        BIGINT NOT NULL DEFAULT 0,
    last_status     BIGINT,
    last_error      TEXT,
    next_attempt_at BIGINT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    delivered_at    BIGINT
);
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries(endpoint_id, created_at, id);

CREATE TABLE webhook_attempts (
    id           TEXT PRIMARY KEY,
    delivery_id  TEXT NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
    attempted_at BIGINT NOT NULL,
    duration_ms  BIGINT NOT NULL,
    status_code  BIGINT,
    error        TEXT
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts(delivery_id, attempted_at);
