-- The backbone: lists, members, the message store, accepted inbound mail, posts and the delivery ledger.

CREATE TABLE site (
  key   text PRIMARY KEY,
  value text NOT NULL
);

CREATE TABLE lists (
  id           bigserial PRIMARY KEY,
  address      text NOT NULL UNIQUE,          -- lower-case list@domain
  local_part   text NOT NULL,
  domain       text NOT NULL,
  display_name text NOT NULL,
  settings     jsonb NOT NULL DEFAULT '{}',   -- validated by mail/settings.ts; only keys that differ from defaults
  next_seq     bigint NOT NULL DEFAULT 1,
  created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE members (
  id              bigserial PRIMARY KEY,
  list_id         bigint NOT NULL REFERENCES lists(id) ON DELETE CASCADE,
  address         text NOT NULL,              -- as given
  address_key     text NOT NULL,              -- lower-case, for matching
  display_name    text,
  role            text NOT NULL DEFAULT 'member' CHECK (role IN ('member', 'owner', 'moderator')),
  moderation      text NOT NULL DEFAULT 'default' CHECK (moderation IN ('default', 'accept', 'hold', 'reject', 'discard')),
  delivery_status text NOT NULL DEFAULT 'enabled' CHECK (delivery_status IN ('enabled', 'by_user', 'by_bounces', 'by_owner')),
  delivery_mode   text NOT NULL DEFAULT 'regular' CHECK (delivery_mode IN ('regular', 'mime_digest', 'plain_digest')),
  verp_token      text NOT NULL UNIQUE,       -- opaque; names the member in VERP return paths
  created_at      timestamptz NOT NULL DEFAULT now(),
  UNIQUE (list_id, role, address_key)
);

-- Raw messages, stored once by content (claim check): workflows carry the hash.
CREATE TABLE messages (
  sha256      text PRIMARY KEY,
  raw         bytea NOT NULL,
  size        integer NOT NULL,
  stored_at   timestamptz NOT NULL DEFAULT now()
);

-- Every message ingress accepted, one row per workflow it started.
CREATE TABLE inbound (
  workflow_id   text PRIMARY KEY,
  list_address  text NOT NULL,
  kind          text NOT NULL,
  sha256        text NOT NULL REFERENCES messages(sha256),
  envelope_from text NOT NULL,
  rcpt_to       text NOT NULL,
  received_at   timestamptz NOT NULL DEFAULT now(),
  started_at    timestamptz                   -- set once Temporal acknowledged the workflow start
);

-- Accepted posts: list sequence number and the decorated message that goes out.
CREATE TABLE posts (
  workflow_id      text PRIMARY KEY,
  list_id          bigint NOT NULL REFERENCES lists(id) ON DELETE CASCADE,
  seq              bigint NOT NULL,
  decorated_sha256 text NOT NULL REFERENCES messages(sha256),
  accepted_at      timestamptz NOT NULL DEFAULT now(),
  UNIQUE (list_id, seq)
);

-- The delivery ledger: (post, recipient) -> status. SMTP is not transactional; this is what makes retries safe.
CREATE TABLE deliveries (
  workflow_id   text NOT NULL,
  recipient     text NOT NULL,
  batch         integer NOT NULL,
  verp_token    text NOT NULL,
  status        text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
  attempts      integer NOT NULL DEFAULT 0,
  last_code     integer,
  last_response text,
  updated_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (workflow_id, recipient)
);
CREATE INDEX deliveries_pending ON deliveries (workflow_id, batch) WHERE status = 'pending';

-- Permanent delivery failures and mail to -bounces, kept for bounce processing.
CREATE TABLE bounce_events (
  id          bigserial PRIMARY KEY,
  list_id     bigint REFERENCES lists(id) ON DELETE CASCADE,
  recipient   text,
  source      text NOT NULL CHECK (source IN ('delivery', 'inbound')),
  workflow_id text NOT NULL,
  sha256      text REFERENCES messages(sha256),
  code        integer,
  reason      text,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX bounce_events_list ON bounce_events (list_id, recipient);
