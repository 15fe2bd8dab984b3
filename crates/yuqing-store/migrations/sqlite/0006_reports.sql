-- Reports made (issue 6): each with the inputs that rebuild it and the document model it
-- rendered (so a saved report exports in any format exactly as it was made). `issue` is
-- the 期号 of digests (numbered per kind).
CREATE TABLE reports (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    kind       TEXT    NOT NULL,
    title      TEXT    NOT NULL,
    subtitle   TEXT,
    issue      INTEGER,
    inputs     TEXT    NOT NULL,
    model      TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    created_by TEXT    NOT NULL,
    -- The unit whose office made it (its readers are that unit's office and those above);
    -- NULL for reports of the whole organisation (CLI, schedule).
    unit       TEXT,
    updated_at INTEGER NOT NULL,
    -- Set for reports made by the schedule: "daily:2026-11-21" (made once).
    schedule_key TEXT UNIQUE
);
CREATE INDEX reports_kind ON reports (kind, id);
