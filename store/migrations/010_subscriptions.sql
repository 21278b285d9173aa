-- Pending subscription and unsubscription requests by id: a confirmation token carries only the id (a token's
-- ref is at most 64 bytes, an address may be 254), so this maps it back to the list, the address and the
-- workflow that waits. The wait itself, and the request's state, live in that workflow.
CREATE TABLE subscription_requests (
  id           text PRIMARY KEY,              -- 16 hex digits, the token's ref
  list_address text NOT NULL,                 -- lower-case list@domain
  address      text NOT NULL,                 -- the address to subscribe or unsubscribe, as given
  action       text NOT NULL CHECK (action IN ('subscribe', 'unsubscribe')),
  workflow_id  text NOT NULL,                 -- subscription/<list>/<address>
  created_at   timestamptz NOT NULL DEFAULT now(),
  expires_at   timestamptz NOT NULL
);
CREATE INDEX subscription_requests_expires ON subscription_requests (expires_at);

-- Welcome and goodbye messages owed after an owner added or removed members in bulk (listflow members add/remove):
-- the database holds who is owed one, a list's member-notices workflow sends them in batches.
ALTER TABLE members ADD COLUMN welcome_pending boolean NOT NULL DEFAULT false;
CREATE INDEX members_welcome_pending ON members (list_id) WHERE welcome_pending;
ALTER TABLE unsubscriptions ADD COLUMN goodbye_pending boolean NOT NULL DEFAULT false;
CREATE INDEX unsubscriptions_goodbye_pending ON unsubscriptions (list_address) WHERE goodbye_pending;
