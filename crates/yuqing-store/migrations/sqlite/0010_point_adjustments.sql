-- A leader's manual adjustment of a person's performance points (领导加减分, 003 篇十二:
-- points "根据效果、网上影响大小等因素", and deductions for "未发现舆情或应对不力"), with its
-- reason, the case it is about (optional), when it counts, who made it and when. Kept when
-- revoked (revoked_at, revoked_by); every change is audited (`points.adjust`,
-- `points.revoke`).
CREATE TABLE point_adjustments (
    id          INTEGER PRIMARY KEY,
    user_id     TEXT    NOT NULL,
    points      INTEGER NOT NULL,
    reason      TEXT    NOT NULL,
    case_id     TEXT,
    at          INTEGER NOT NULL,
    by_user     TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER,
    revoked_by  TEXT
);
CREATE INDEX point_adjustments_at ON point_adjustments (at);
