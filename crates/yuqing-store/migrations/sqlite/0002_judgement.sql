-- Judgement (研判): what ingest derives from each document, events, plans and corrections.

-- Per document, as judged at ingest (corrections by a person overwrite the value and set
-- a bit in `corrected`, so statistics need no join).
ALTER TABLE documents ADD COLUMN event_id INTEGER;
ALTER TABLE documents ADD COLUMN sentiment INTEGER;          -- 1 positive, 0 neutral, -1 negative
ALTER TABLE documents ADD COLUMN sentiment_score REAL;       -- the model's P(positive)
ALTER TABLE documents ADD COLUMN content_type INTEGER;       -- yuqing_judge ContentType code
ALTER TABLE documents ADD COLUMN categories INTEGER NOT NULL DEFAULT 0; -- Category bit set
ALTER TABLE documents ADD COLUMN corrected INTEGER NOT NULL DEFAULT 0;  -- 1 sentiment, 2 content type
CREATE INDEX documents_event ON documents (event_id) WHERE event_id IS NOT NULL;

-- Events (事件): reposts and comments join their root's event, reprints their group's,
-- independent originals by online clustering. Counters are kept up to date by inserts.
CREATE TABLE events (
    id                INTEGER PRIMARY KEY,
    platform          TEXT    NOT NULL,
    root_id           TEXT    NOT NULL,  -- id of the document that founded it
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    title             TEXT,              -- the first original's title or the start of its text
    first_id          TEXT,              -- the first publisher's document (earliest original)
    first_seq         INTEGER,
    first_at          INTEGER,           -- its published_at (unix ms)
    first_original    INTEGER NOT NULL DEFAULT 0, -- 1 when first_id is an original
    last_at           INTEGER,           -- latest published_at of any member
    documents         INTEGER NOT NULL DEFAULT 0,
    originals         INTEGER NOT NULL DEFAULT 0,
    comments          INTEGER NOT NULL DEFAULT 0, -- sums of the members' metrics
    views             INTEGER NOT NULL DEFAULT 0,
    reposts           INTEGER NOT NULL DEFAULT 0,
    likes             INTEGER NOT NULL DEFAULT 0,
    negative          INTEGER NOT NULL DEFAULT 0, -- members judged negative
    critical_category INTEGER,           -- first negative original of a critical category
    critical_id       TEXT,
    level             INTEGER,           -- yuqing_judge Level code; never lowered automatically
    level_rule        TEXT,
    level_reason      TEXT,
    level_reason_en   TEXT,
    level_at          INTEGER,
    level_by          TEXT,              -- NULL: set by the rules; else the person
    rules_level       INTEGER            -- highest level the rules computed (a person's lower
                                         -- level stands until the rules compute more)
);
CREATE INDEX events_last ON events (last_at);
-- Chain roots (platform + root id) → event, so later replies find their event.
CREATE TABLE event_roots (
    platform TEXT    NOT NULL,
    root_id  TEXT    NOT NULL,
    event_id INTEGER NOT NULL,
    PRIMARY KEY (platform, root_id)
) WITHOUT ROWID;
-- Distinct mainstream sources (主流媒体) that carried an event.
CREATE TABLE event_mainstream (
    event_id INTEGER NOT NULL,
    name     TEXT    NOT NULL,
    PRIMARY KEY (event_id, name)
) WITHOUT ROWID;
-- Every level an event was given, with the explanation: the record an alert or an
-- after-the-fact review relies on.
CREATE TABLE event_levels (
    id        INTEGER PRIMARY KEY,
    event_id  INTEGER NOT NULL,
    at        INTEGER NOT NULL,
    level     INTEGER NOT NULL,
    rule      TEXT    NOT NULL,
    reason    TEXT    NOT NULL,
    reason_en TEXT    NOT NULL,
    by        TEXT
);
CREATE INDEX event_levels_event ON event_levels (event_id, id);

-- Monitoring plans (监测方案).
CREATE TABLE plans (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL UNIQUE,
    expression  TEXT    NOT NULL,
    structured  TEXT,                    -- JSON of the structured form, when made with it
    active      INTEGER NOT NULL DEFAULT 1,
    origin      TEXT    NOT NULL,        -- config | api | cli
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    updated_by  TEXT
);
-- A plan matching a document, with the terms that matched (for highlighting and "why").
CREATE TABLE plan_hits (
    plan_id INTEGER NOT NULL,
    seq     INTEGER NOT NULL,
    terms   TEXT    NOT NULL,            -- JSON array of normalised terms
    PRIMARY KEY (plan_id, seq)
) WITHOUT ROWID;
CREATE INDEX plan_hits_seq ON plan_hits (seq);

-- Corrections of automatic judgements by a person: who, when, from what to what.
CREATE TABLE corrections (
    id        INTEGER PRIMARY KEY,
    seq       INTEGER NOT NULL,
    field     TEXT    NOT NULL,          -- sentiment | content_type
    old_value TEXT,
    new_value TEXT    NOT NULL,
    by        TEXT    NOT NULL,
    at        INTEGER NOT NULL,
    note      TEXT
);
CREATE INDEX corrections_seq ON corrections (seq);

-- Change counters (e.g. `plans`), so running processes notice edits made elsewhere.
CREATE TABLE counters (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
