-- Access (登录与令牌): password credentials, browser sessions and personal API tokens.
--
-- No secret is stored in clear: passwords as argon2id PHC strings, session and API tokens
-- as the hex SHA-256 of the token. Every change is recorded in the audit chain by the
-- transaction that makes it.

-- One password credential per user of the organisation (`users.id`).
CREATE TABLE credentials (
    user_id      TEXT    PRIMARY KEY,
    phc          TEXT    NOT NULL,          -- argon2id PHC string ($argon2id$v=19$...)
    must_change  INTEGER NOT NULL DEFAULT 0,
    failed       INTEGER NOT NULL DEFAULT 0, -- failed logins since the last success
    locked_until INTEGER,                    -- unix ms; NULL: not locked
    updated_at   INTEGER NOT NULL
) WITHOUT ROWID;

-- Browser sessions (cookie `yuqing_session`).
CREATE TABLE sessions (
    token_hash TEXT    PRIMARY KEY,          -- hex SHA-256 of the session token
    user_id    TEXT    NOT NULL,
    csrf       TEXT    NOT NULL,             -- the session's CSRF token (useless without the cookie)
    created_at INTEGER NOT NULL,
    last_seen  INTEGER NOT NULL,
    expires_at INTEGER NOT NULL              -- absolute expiry; idle expiry from last_seen
) WITHOUT ROWID;
CREATE INDEX sessions_user ON sessions (user_id);

-- Personal API tokens (Authorization: Bearer yq_...).
CREATE TABLE api_tokens (
    id         INTEGER PRIMARY KEY,
    token_hash TEXT    NOT NULL UNIQUE,      -- hex SHA-256 of the token
    user_id    TEXT    NOT NULL,
    name       TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    last_used  INTEGER,
    revoked_at INTEGER
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);
