-- Events with several writers (PostgreSQL 0006). SQLite has one writer per data directory
-- and allocates event and group ids itself (after the highest in use), so it needs no
-- sequences; the claim tables exist so that the store behaves the same when a writer asks
-- it to settle a batch (`EventLink::verify`, the conformance suite). A single writer does
-- not ask, and these tables then stay empty.
CREATE TABLE group_keys (
    content_key INTEGER PRIMARY KEY,
    group_id    INTEGER NOT NULL
);
CREATE TABLE event_groups (
    group_id INTEGER PRIMARY KEY,
    event_id INTEGER NOT NULL
);
CREATE INDEX event_groups_event ON event_groups (event_id);
CREATE INDEX event_roots_event ON event_roots (event_id);
ALTER TABLE events ADD COLUMN merged_into INTEGER;
