-- How far each event has been graded: the rules have seen every member with a seq up to
-- `graded_seq`. A document is stored (and its event's counters moved) before the grading
-- that follows in the pipeline; the alert follower waits for this mark so an alert carries
-- the level the rules give, not the level of a moment before (issue 4, found flaky in CI).
ALTER TABLE events ADD COLUMN graded_seq INTEGER NOT NULL DEFAULT 0;
-- Events stored before this column existed were graded by the pipeline that stored them.
UPDATE events SET graded_seq = COALESCE((SELECT MAX(seq) FROM documents), 0);
