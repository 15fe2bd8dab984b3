-- A person's verdict on an alert (预警研判结论): confirmed (属实/有效) or a false alarm
-- (误报), with a note, who and when. The last verdict stands; every one is audited
-- (`alert.verdict`). Counted per monitoring plan to show which plans raise false alarms.
ALTER TABLE alerts ADD COLUMN verdict TEXT;
ALTER TABLE alerts ADD COLUMN verdict_note TEXT;
ALTER TABLE alerts ADD COLUMN verdict_by TEXT;
ALTER TABLE alerts ADD COLUMN verdict_at INTEGER;
