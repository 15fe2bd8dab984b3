-- The dashboard (总览): volume by hour, sentiment and platform shares, and the newest texts
-- of a time range. One index on publication time, covering sentiment and platform, so
-- the counts are answered from the index alone (no table rows read).
CREATE INDEX documents_published ON documents (published_at, sentiment, platform);
