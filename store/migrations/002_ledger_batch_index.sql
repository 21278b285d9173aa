-- The ledger's batch index covers every status, so a batch's counts, pending rows and marks are bounded by
-- the batch. It replaces the partial index on pending rows, which the planner took for single marks once
-- it believed a post had few pending rows (before any ANALYZE, or when most rows of the table were sent):
-- every mark then scanned all pending rows of the post, 100,000 rows per mark on a large list. Batch comes
-- first so that no index but the primary key starts with workflow_id.
DROP INDEX IF EXISTS deliveries_pending;
CREATE INDEX IF NOT EXISTS deliveries_batch ON deliveries (batch, workflow_id, status);
