-- What the console's charts read that nothing else keeps (licenses per day are counted from
-- the licenses themselves, webhook success from the delivery attempts).

-- A listener on a day: a customer who saved a playback position that day (UTC), once.
CREATE TABLE listening_days (
    store_id    TEXT NOT NULL REFERENCES stores(id),
    day         BIGINT NOT NULL,
    customer_id TEXT NOT NULL,
    PRIMARY KEY (store_id, day, customer_id)
);

-- The queue's depth (jobs due and not done) by kind, sampled once a minute by one worker
-- process; kept a week.
CREATE TABLE queue_samples (
    at   BIGINT NOT NULL,
    kind TEXT NOT NULL,
    due  BIGINT NOT NULL,
    PRIMARY KEY (at, kind)
);

-- Whose minute it is to take the sample (see `JobQueue::take_turn`).
INSERT INTO cursors (name, position) VALUES ('queue.sample', 0);
