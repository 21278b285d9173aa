-- Who left which list, when and how: the member row is deleted, so this is what remains to answer
-- "why am I not getting mail any more?" and to make a repeated one-click link say "already unsubscribed".
CREATE TABLE unsubscriptions (
  id           bigserial PRIMARY KEY,
  list_address text NOT NULL,                 -- lower-case list@domain; text, not a key: the record outlives the list
  address      text NOT NULL,                 -- as it was subscribed
  verp_token   text NOT NULL,                 -- the membership that ended (a later re-subscription has another)
  via          text NOT NULL,                 -- how: 'one-click' (RFC 8058 POST); other paths may add theirs
  at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX unsubscriptions_list_token ON unsubscriptions (list_address, verp_token);
CREATE INDEX unsubscriptions_list_at ON unsubscriptions (list_address, at);
