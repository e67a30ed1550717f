-- Listening that follows the listener across devices: a position's and a bookmark's change
-- carry the time the device made them (milliseconds), and the latest change wins when a
-- device that listened offline syncs.

ALTER TABLE positions ADD COLUMN changed_at BIGINT;
UPDATE positions SET changed_at = updated_at * 1000;

-- A customer's bookmarks in a title. A removed bookmark stays as a tombstone (deleted), so
-- that a device which still has it learns of the removal rather than bringing it back.
CREATE TABLE bookmarks (
    customer_id TEXT NOT NULL REFERENCES customers(id),
    title_id    TEXT NOT NULL REFERENCES titles(id),
    store_id    TEXT NOT NULL REFERENCES stores(id),
    id          TEXT NOT NULL,
    seconds     DOUBLE PRECISION NOT NULL,
    note        TEXT,
    created_at  BIGINT NOT NULL,
    changed_at  BIGINT NOT NULL,
    deleted     BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (customer_id, title_id, id)
);
