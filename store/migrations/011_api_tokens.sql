-- Bearer tokens for the HTTP API (until people sign in): only a token's SHA-256 is kept, never the token.
-- A revoked token keeps its row, so the name recorded with its decisions still says when it was made and ended;
-- the name is free again for a new token once the old one is revoked.
CREATE TABLE api_tokens (
  id            bigserial PRIMARY KEY,
  name          text NOT NULL,                 -- recorded as token:<name> with what the token did
  token_sha256  bytea NOT NULL UNIQUE,         -- SHA-256 of the whole token (lf_…); the token is random, so no salt or KDF
  created_by    text NOT NULL,                 -- who made it (cli:<os user>)
  created_at    timestamptz NOT NULL DEFAULT now(),
  last_used_at  timestamptz,                   -- updated at most once a minute per token
  revoked_at    timestamptz
);
CREATE UNIQUE INDEX api_tokens_live_name ON api_tokens (name) WHERE revoked_at IS NULL;
