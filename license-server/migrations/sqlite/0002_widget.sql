-- The widget: a demo store's built-in test checkout, Stripe checkout, listening positions.

-- A demo store mints tokens for anonymous visitors and has a test checkout (fount-server demo).
ALTER TABLE stores ADD COLUMN demo INTEGER NOT NULL DEFAULT 0;
-- The signing secret of the store's Stripe webhook endpoint, sealed under the KEK.
ALTER TABLE stores ADD COLUMN stripe_webhook_secret BLOB;
-- The Stripe Payment Link that sells a title: a completed checkout through it grants the title.
ALTER TABLE titles ADD COLUMN stripe_payment_link TEXT;
CREATE INDEX titles_payment_link ON titles(store_id, stripe_payment_link);

-- Where each customer is in each title, so listening resumes on any device.
CREATE TABLE positions (
    customer_id TEXT NOT NULL REFERENCES customers(id),
    title_id    TEXT NOT NULL REFERENCES titles(id),
    store_id    TEXT NOT NULL REFERENCES stores(id),
    seconds     REAL NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (customer_id, title_id)
);
