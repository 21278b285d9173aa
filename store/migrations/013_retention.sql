-- Retention (the prune/site workflow): when each accepted message's workflow was seen finished, whether its
-- ledger is gone, and the raw message released (sha256 NULL) while the idempotency record itself stays; and
-- the indexes that keep each prune batch short. Every table that references messages(sha256) gets an index
-- on that column: deleting a message checks each foreign key, which without one is a scan of the whole table.
ALTER TABLE inbound ADD COLUMN finished_at timestamptz;              -- its workflow's close time, as Temporal reported it
ALTER TABLE inbound ADD COLUMN ledger_pruned boolean NOT NULL DEFAULT false;
ALTER TABLE inbound ALTER COLUMN sha256 DROP NOT NULL;               -- NULL once the raw message's retention passed

CREATE INDEX inbound_unfinished ON inbound (received_at, workflow_id) WHERE finished_at IS NULL;
CREATE INDEX inbound_ledger_due ON inbound (finished_at, workflow_id) WHERE finished_at IS NOT NULL AND NOT ledger_pruned;
CREATE INDEX inbound_raw_due ON inbound (finished_at) WHERE finished_at IS NOT NULL AND sha256 IS NOT NULL;
CREATE INDEX inbound_record_due ON inbound (finished_at) WHERE sha256 IS NULL AND ledger_pruned;
CREATE INDEX inbound_sha256 ON inbound (sha256);
CREATE INDEX posts_decorated ON posts (decorated_sha256);
CREATE INDEX archive_sha256 ON archive (sha256);
CREATE INDEX bounce_events_sha256 ON bounce_events (sha256);
CREATE INDEX bounce_events_created ON bounce_events (created_at);
CREATE INDEX digest_issues_mime ON digest_issues (mime_sha256);
CREATE INDEX digest_issues_plain ON digest_issues (plain_sha256);
CREATE INDEX digest_issues_created ON digest_issues (created_at);
CREATE INDEX digest_issues_list_latest ON digest_issues (list_id, id);   -- "never a list's latest issue"
CREATE INDEX messages_stored ON messages (stored_at, sha256);
CREATE INDEX autoreplies_day ON autoreplies (day);
