-- The archive: every accepted post as archived (the decorated list-level message), threaded and full-text indexed.
-- Full text uses the `simple` configuration, not `english`: lists are multilingual and full of identifiers, file
-- names and addresses, which English stemming and stop words would mangle or drop; `simple` only lower-cases.

CREATE TABLE archive (
  id              bigserial PRIMARY KEY,
  list_id         bigint NOT NULL REFERENCES lists(id) ON DELETE CASCADE,
  seq             bigint,                      -- the list's post number; null for imported messages
  workflow_id     text UNIQUE,                 -- the post it came from; null for imported messages
  sha256          text NOT NULL REFERENCES messages(sha256),
  message_id      text NOT NULL,               -- without angle brackets
  message_id_hash text NOT NULL,               -- mail/links.ts messageIdHash: the permalink key
  in_reply_to     text,
  refs            text[] NOT NULL DEFAULT '{}',
  parent_id       bigint REFERENCES archive(id) ON DELETE SET NULL,
  thread_id       text NOT NULL,               -- message_id_hash of the thread's first message
  subject         text NOT NULL,
  base_subject    text NOT NULL,               -- lower-case, without Re:/Fwd:/[prefix]: the threading fallback
  author_name     text NOT NULL,
  author_address  text,
  envelope_from   text,                        -- for the From_ line of an mbox export
  date            timestamptz NOT NULL,
  body_text       text NOT NULL,
  search          tsvector GENERATED ALWAYS AS (
                    setweight(to_tsvector('simple', subject), 'A') ||
                    setweight(to_tsvector('simple', author_name || ' ' || coalesce(author_address, '')), 'B') ||
                    setweight(to_tsvector('simple', body_text), 'D')) STORED,
  archived_at     timestamptz NOT NULL DEFAULT now(),
  UNIQUE (list_id, message_id)
);
CREATE INDEX archive_search ON archive USING GIN (search);
CREATE INDEX archive_thread ON archive (list_id, thread_id, date);
CREATE INDEX archive_hash ON archive (list_id, message_id_hash);
CREATE INDEX archive_subject ON archive (list_id, base_subject, date);
CREATE INDEX archive_date ON archive (list_id, date, id);
-- Thread roots that may turn out to be replies whose parent is filed later (see store/archive.ts adoptEarlyReplies).
CREATE INDEX archive_orphan_refs ON archive USING GIN (refs) WHERE parent_id IS NULL;
CREATE INDEX archive_orphan_reply ON archive (list_id, in_reply_to) WHERE parent_id IS NULL;
