-- What a feed says of itself and of each item beyond what identifies it (JSON: description,
-- author, language, image; an item's duration, chapters and transcripts), read by the import.
ALTER TABLE feeds ADD COLUMN details TEXT;
ALTER TABLE feed_items ADD COLUMN details TEXT;

-- The WebSub subscription to the hub the feed announces: the topic subscribed to, the
-- callback's random id, the secret the hub signs with (sealed with the master key), and where
-- it stands: 'pending' (asked, not yet verified), 'active', 'denied' or 'failed'.
ALTER TABLE feeds ADD COLUMN hub_topic TEXT;
ALTER TABLE feeds ADD COLUMN hub_callback TEXT;
ALTER TABLE feeds ADD COLUMN hub_secret BYTEA;
ALTER TABLE feeds ADD COLUMN hub_state TEXT;
ALTER TABLE feeds ADD COLUMN hub_error TEXT;
CREATE UNIQUE INDEX feeds_hub_callback ON feeds(hub_callback);

-- A title's description (plain text or simple HTML), shown in its manifest.
ALTER TABLE titles ADD COLUMN description TEXT;

-- A track's transcripts, kept as files beside the sealed track: JSON
-- [{"file", "media_type", "language"}], linked from the manifest as alternates of the track.
ALTER TABLE tracks ADD COLUMN transcripts TEXT NOT NULL DEFAULT '[]';
