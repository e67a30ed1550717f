-- Retention walks the log from its oldest end (EventLog::purge_events): an index on the time
-- of every event is not worth its cost on each write.
DROP INDEX events_created;
