-- Events with several writers (issue 7: `yuqing process` × N on one database).
--
-- * Event and reprint-group ids come from sequences, never from a writer's memory, so no
--   two writers give out the same id. They start after the highest id in use.
-- * Claims, each written once with ON CONFLICT DO NOTHING under the insert lock (the
--   first writer wins, every later one reads the winner): `event_roots` (existing: chain
--   root → event), `group_keys` (exact-text key → reprint group) and `event_groups`
--   (reprint group → event).
-- * `events.merged_into`: an event founded by replies that arrived before their parent is
--   merged into the parent's event when the parent arrives; it is left empty and points
--   at the event it went into.
CREATE SEQUENCE event_ids AS BIGINT;
SELECT setval('event_ids', GREATEST(
    COALESCE((SELECT MAX(id) FROM events), 0),
    COALESCE((SELECT MAX(event_id) FROM event_roots), 0)) + 1, false);
CREATE SEQUENCE group_ids AS BIGINT;
SELECT setval('group_ids', COALESCE((SELECT MAX(group_id) FROM documents), 0) + 1, false);

CREATE TABLE group_keys (
    content_key BIGINT PRIMARY KEY,
    group_id    BIGINT NOT NULL
);
INSERT INTO group_keys (content_key, group_id)
    SELECT DISTINCT ON (content_key) content_key, group_id FROM documents
    WHERE content_key IS NOT NULL AND group_id IS NOT NULL ORDER BY content_key, seq;
CREATE TABLE event_groups (
    group_id BIGINT PRIMARY KEY,
    event_id BIGINT NOT NULL
);
INSERT INTO event_groups (group_id, event_id)
    SELECT DISTINCT ON (group_id) group_id, event_id FROM documents
    WHERE group_id IS NOT NULL AND event_id IS NOT NULL ORDER BY group_id, seq;
CREATE INDEX event_groups_event ON event_groups (event_id);
CREATE INDEX event_roots_event ON event_roots (event_id);
ALTER TABLE events ADD COLUMN merged_into BIGINT;
