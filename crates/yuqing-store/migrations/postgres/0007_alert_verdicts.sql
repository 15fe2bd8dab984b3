-- A person's verdict on an alert, as SQLite 0009.
ALTER TABLE alerts ADD COLUMN verdict TEXT;
ALTER TABLE alerts ADD COLUMN verdict_note TEXT;
ALTER TABLE alerts ADD COLUMN verdict_by TEXT;
ALTER TABLE alerts ADD COLUMN verdict_at BIGINT;
