-- Moderation by mail: tokens that were used (each -confirm+TOKEN acts once), and automatic replies per
-- address and day (no address gets more than the site's autoreply_daily_limit).
CREATE TABLE used_tokens (
  token_key   text PRIMARY KEY,               -- the decoded token, hex
  kind        text NOT NULL,
  subject     text NOT NULL,                  -- what it acted on (a post's workflow ID)
  action      text NOT NULL,
  used_by     text NOT NULL,                  -- the address the reply came from
  claimed_by  text NOT NULL,                  -- the workflow that used it (a retry of the same one may go on)
  expires_at  timestamptz NOT NULL,           -- rows are useless after this and may be deleted
  used_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX used_tokens_expiry ON used_tokens (expires_at);

-- One row per automatic reply sent (or about to be): ref names the reply, so a retried activity counts once.
CREATE TABLE autoreplies (
  ref         text PRIMARY KEY,               -- e.g. '<workflow id> held'
  address_key text NOT NULL,
  day         date NOT NULL,                  -- UTC
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX autoreplies_address_day ON autoreplies (address_key, day);
