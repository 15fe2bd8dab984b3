-- Documents: the system of record. `seq` orders everything downstream (index catch-up).
CREATE TABLE documents (
    seq             INTEGER PRIMARY KEY,
    platform        TEXT    NOT NULL,
    id              TEXT    NOT NULL,
    kind            TEXT    NOT NULL,
    url             TEXT,
    url_canonical   TEXT,
    site            TEXT,
    title           TEXT,
    text            TEXT    NOT NULL,
    published_at    INTEGER,            -- unix milliseconds
    published_off   INTEGER,            -- the offset it was given in, seconds east of UTC
    ingested_at     INTEGER NOT NULL,   -- unix milliseconds
    author_id       TEXT,
    author_name     TEXT,
    author_verified INTEGER NOT NULL DEFAULT 0,
    author          TEXT,               -- JSON object, every author field as given
    metrics         TEXT,               -- JSON object
    parent_id       TEXT,
    root_id         TEXT,
    source          TEXT,
    extra           TEXT,               -- JSON object
    rest            TEXT,               -- JSON object: top-level fields the model does not know
    content_key     INTEGER,            -- exact-text key (scoped), for reprint grouping
    simhash         INTEGER,            -- 64-bit SimHash, for near-duplicate grouping
    group_id        INTEGER,            -- reprint group
    group_joined    INTEGER NOT NULL DEFAULT 0, -- 1 when it joined an existing group
    UNIQUE (platform, id)
);
CREATE UNIQUE INDEX documents_url ON documents (url_canonical) WHERE url_canonical IS NOT NULL;
-- No index on published_at yet: time filters are answered by the full-text index. Add one
-- with the first store query that filters or orders by time (reports, statistics).
CREATE INDEX documents_group ON documents (group_id) WHERE group_id IS NOT NULL;

-- A source's position, committed in the same transaction as the documents it produced.
CREATE TABLE checkpoints (
    source     TEXT PRIMARY KEY,
    cursor     TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);

-- Documents that could not be processed, with the reason; nothing is silently dropped.
CREATE TABLE dead_letters (
    id       INTEGER PRIMARY KEY,
    at       INTEGER NOT NULL,
    source   TEXT    NOT NULL,
    location TEXT    NOT NULL,
    reason   TEXT    NOT NULL,
    payload  TEXT    NOT NULL
);

-- Source health: one row per source, updated on every poll.
CREATE TABLE source_health (
    name                 TEXT PRIMARY KEY,
    last_poll_at         INTEGER,
    last_success_at      INTEGER,
    last_error_at        INTEGER,
    last_error           TEXT,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    polls                INTEGER NOT NULL DEFAULT 0,
    failures             INTEGER NOT NULL DEFAULT 0,
    documents            INTEGER NOT NULL DEFAULT 0,
    last_published_at    INTEGER
);
-- Documents stored per source per hour (for documents/hour).
CREATE TABLE source_hours (
    name  TEXT    NOT NULL,
    hour  INTEGER NOT NULL, -- unix hour
    docs  INTEGER NOT NULL,
    PRIMARY KEY (name, hour)
);
