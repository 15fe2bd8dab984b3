-- Warning and handling (预警与处置): organisation, duty roster, cases, reminders, alerts,
-- the delivery outbox and the hash-chained audit log.
--
-- Domain objects whose shape belongs to yuqing-workflow / yuqing-alert are kept whole as
-- JSON in `body`; the columns beside it are what queries filter and sort on.

-- Units of the organisation (county → town → school, departments).
CREATE TABLE units (
    id       TEXT    PRIMARY KEY,
    parent   TEXT,
    body     TEXT    NOT NULL            -- yuqing_workflow::org::Unit
) WITHOUT ROWID;

-- Users and the roles they hold on units.
CREATE TABLE users (
    id       TEXT    PRIMARY KEY,
    body     TEXT    NOT NULL            -- yuqing_workflow::org::User
) WITHOUT ROWID;

-- Duty roster (值班表): who is on duty when, in order (position 0 is told first).
CREATE TABLE duty (
    id        INTEGER PRIMARY KEY,
    unit      TEXT    NOT NULL,
    user_id   TEXT    NOT NULL,
    starts_at INTEGER NOT NULL,          -- unix ms, inclusive
    ends_at   INTEGER NOT NULL,          -- unix ms, exclusive
    position  INTEGER NOT NULL DEFAULT 0,
    note      TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX duty_time ON duty (starts_at, ends_at);

-- Cases (处置案件). `version` is the optimistic-concurrency check of every update.
CREATE TABLE cases (
    id            TEXT    PRIMARY KEY,
    unit          TEXT    NOT NULL,
    state         TEXT    NOT NULL,
    version       INTEGER NOT NULL,
    level         INTEGER,               -- yuqing_judge Level code once judged
    item_key      TEXT,                  -- the document or alert it came from
    registered_at INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    body          TEXT    NOT NULL       -- yuqing_workflow::case::Case
) WITHOUT ROWID;
CREATE INDEX cases_state ON cases (state, updated_at);
CREATE INDEX cases_unit ON cases (unit);
CREATE INDEX cases_item ON cases (item_key) WHERE item_key IS NOT NULL;

-- Reminders sent (催办/督办): the key makes each one go out once.
CREATE TABLE reminders (
    key      TEXT    PRIMARY KEY,
    case_id  TEXT    NOT NULL,
    kind     TEXT    NOT NULL,           -- urge | supervise
    what     TEXT    NOT NULL,           -- deadline kind
    due_at   INTEGER NOT NULL,
    unit     TEXT    NOT NULL,
    sent_at  INTEGER NOT NULL,
    message  TEXT    NOT NULL            -- JSON {zh, en}
) WITHOUT ROWID;
CREATE INDEX reminders_case ON reminders (case_id);

-- Alerts (预警): one per event and level.
CREATE TABLE alerts (
    id         INTEGER PRIMARY KEY,
    event_id   INTEGER NOT NULL,
    level      INTEGER NOT NULL,         -- Level code
    rule       TEXT    NOT NULL,         -- the first rule that raised it
    plan       TEXT,                     -- the plan it hit, if any
    first_seq  INTEGER NOT NULL,         -- the document that raised it
    last_seq   INTEGER NOT NULL,         -- the latest document that matched again
    hits       INTEGER NOT NULL DEFAULT 1,
    raised_at  INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    acked_at   INTEGER,
    acked_by   TEXT,
    case_id    TEXT,
    message    TEXT    NOT NULL,         -- yuqing_alert::AlertMessage (JSON)
    UNIQUE (event_id, level)
);
CREATE INDEX alerts_raised ON alerts (raised_at);

-- Escalation notices told (one per alert and duty step).
CREATE TABLE alert_notices (
    alert_id INTEGER NOT NULL,
    step     INTEGER NOT NULL,
    who      TEXT    NOT NULL,
    at       INTEGER NOT NULL,
    PRIMARY KEY (alert_id, step)
) WITHOUT ROWID;

-- The delivery outbox: one entry per alert (or notice) and channel, with every attempt
-- in `body` (yuqing_alert::outbox::Entry).
CREATE TABLE outbox (
    id           INTEGER PRIMARY KEY,
    alert_id     TEXT    NOT NULL,       -- the message id (an alert, or an escalation notice)
    channel      TEXT    NOT NULL,
    enqueued_at  INTEGER NOT NULL,
    next_at      INTEGER NOT NULL,
    delivered_at INTEGER,
    attempts     INTEGER NOT NULL DEFAULT 0, -- attempts handed out so far
    body         TEXT    NOT NULL,
    UNIQUE (alert_id, channel)
);
CREATE INDEX outbox_pending ON outbox (channel, id) WHERE delivered_at IS NULL;

-- The audit log: every action, hash-chained (see yuqing_workflow::audit).
CREATE TABLE audit (
    seq       INTEGER PRIMARY KEY,
    at        INTEGER NOT NULL,          -- unix ms (the precision the hash covers)
    actor     TEXT    NOT NULL,
    action    TEXT    NOT NULL,
    target    TEXT    NOT NULL,
    before    TEXT,
    after     TEXT,
    prev_hash TEXT    NOT NULL,
    hash      TEXT    NOT NULL
);
CREATE INDEX audit_target ON audit (target, seq);
