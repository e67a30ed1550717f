-- A leaner event log: the issuing path writes an event with every license, so each index on
-- events is paid for by every issuance (docs/benchmarks.md, the cost of the event log).
--
-- The log's order, (txid, seq), becomes the primary key, replacing both the key on seq
-- alone (nothing looks an event up by seq) and the index that held the order.
ALTER TABLE events DROP CONSTRAINT events_pkey;
ALTER TABLE events ADD PRIMARY KEY (txid, seq);
DROP INDEX events_position;
-- Retention walks the log from its oldest end instead (EventLog::purge_events).
DROP INDEX events_created;
