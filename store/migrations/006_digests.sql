-- Digests: each issue a list sent (composed once, both formats stored by hash) and each member it went to,
-- so a retried send never mails the same issue to the same member twice.

CREATE TABLE digest_issues (
  id           bigserial PRIMARY KEY,
  list_id      bigint NOT NULL REFERENCES lists(id) ON DELETE CASCADE,
  volume       integer NOT NULL,
  number       integer NOT NULL,
  mime_sha256  text NOT NULL REFERENCES messages(sha256),
  plain_sha256 text NOT NULL REFERENCES messages(sha256),
  posts        text[] NOT NULL,               -- post workflow IDs, in issue order
  created_at   timestamptz NOT NULL DEFAULT now(),
  UNIQUE (list_id, volume, number)
);

CREATE TABLE digest_sends (
  issue_id      bigint NOT NULL REFERENCES digest_issues(id) ON DELETE CASCADE,
  recipient     text NOT NULL,
  format        text NOT NULL CHECK (format IN ('mime', 'plain')),
  status        text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
  last_code     integer,
  last_response text,
  updated_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (issue_id, recipient)
);
