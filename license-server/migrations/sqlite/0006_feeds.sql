-- Feeds: content providers' RSS feeds, synced by the queue into titles (docs/feeds.md).

CREATE TABLE feeds (
    id            TEXT PRIMARY KEY,
    store_id      TEXT NOT NULL REFERENCES stores(id),
    -- Where the feed is now (a permanent redirect moves it).
    url           TEXT NOT NULL,
    -- 'episodes': each item a title; 'serial': the feed one title, its items the tracks.
    mode          TEXT NOT NULL CHECK (mode IN ('episodes', 'serial')),
    -- A serial feed's one title, once made.
    title_id      TEXT REFERENCES titles(id),
    -- Defaults for the titles the feed makes.
    price         TEXT,
    currency      TEXT,
    checkout_url  TEXT,
    status        TEXT NOT NULL CHECK (status IN ('active', 'paused')),
    interval_s    INTEGER NOT NULL,
    -- The channel's title, as last read.
    name          TEXT,
    -- The validators of the last 200, for the next conditional request, and its body's hash.
    etag          TEXT,
    last_modified TEXT,
    body_sha256   TEXT,
    -- A WebSub hub the feed announces, and until when the subscription holds.
    hub           TEXT,
    hub_lease_until INTEGER,
    last_sync_at  INTEGER,
    -- 'imported', 'unchanged' or 'failed'.
    last_result   TEXT,
    last_error    TEXT,
    -- Failed syncs in a row (the backoff).
    failures      INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX feeds_store ON feeds(store_id, created_at, id);

-- What became of each item of a feed, by its identity (never its position).
CREATE TABLE feed_items (
    feed_id          TEXT NOT NULL REFERENCES feeds(id),
    guid             TEXT NOT NULL,
    name             TEXT,
    -- Its place in the feed at the last sync (a serial feed's track order).
    position         INTEGER NOT NULL,
    enclosure_url    TEXT,
    enclosure_length INTEGER,
    enclosure_type   TEXT,
    -- The title it became, and its track's file while it is being packaged or once published.
    title_id         TEXT REFERENCES titles(id),
    track_file       TEXT,
    status           TEXT NOT NULL CHECK (status IN ('queued', 'processing', 'published', 'failed', 'removed')),
    error            TEXT,
    updated_at       INTEGER NOT NULL,
    PRIMARY KEY (feed_id, guid)
);

-- A title no longer sold (its feed item went away): no new entitlement, while the licenses
-- already issued keep working.
ALTER TABLE titles ADD COLUMN withdrawn_at INTEGER;
