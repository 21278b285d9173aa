-- Owners are told once when a post, request or bounce workflow ends failed: the workflow asks for one notice,
-- and this row keeps a retried notice activity from sending a second (sent_at is set after SMTP accepted it).
CREATE TABLE failure_notices (
  workflow_id text PRIMARY KEY,
  list_address text NOT NULL,
  reason      text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  sent_at     timestamptz
);
