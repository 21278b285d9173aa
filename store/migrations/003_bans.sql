-- Banned addresses: per list, or site-wide when list_id is NULL. A pattern is an address or, starting
-- with '^', a regular expression (mail/patterns.ts validates it before it is stored).
CREATE TABLE bans (
  id         bigserial PRIMARY KEY,
  list_id    bigint REFERENCES lists(id) ON DELETE CASCADE,
  pattern    text NOT NULL,
  reason     text NOT NULL DEFAULT '',
  created_by text NOT NULL DEFAULT '',
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX bans_unique ON bans (COALESCE(list_id, 0), pattern);
