-- DKIM keys, one per domain: outgoing list mail of that domain is signed (and ARC-sealed) with it.
-- The private key never leaves the database except to the signer; the public key is what DNS publishes.
CREATE TABLE dkim_keys (
  domain      text PRIMARY KEY,
  selector    text NOT NULL,
  algorithm   text NOT NULL CHECK (algorithm IN ('rsa', 'ed25519')),
  private_key text NOT NULL,
  public_key  text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);
