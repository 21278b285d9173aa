-- Bounce processing: what each recorded bounce was taken for, how the member was found, and its status code,
-- so `listflow bounces show` can say why a member was (or was not) scored.
ALTER TABLE bounce_events ADD COLUMN classification text;   -- permanent | temporary | policy | auto-reply | not-bounce | unrecognised
ALTER TABLE bounce_events ADD COLUMN method text;           -- verp | dsn | heuristic | smtp (a refusal during delivery) | none
ALTER TABLE bounce_events ADD COLUMN status text;           -- RFC 3463 x.y.z when known
ALTER TABLE bounce_events ADD COLUMN scored boolean NOT NULL DEFAULT false;  -- handed to the member's bouncer
CREATE INDEX bounce_events_recipient ON bounce_events (list_id, lower(recipient), created_at);
CREATE INDEX bounce_events_workflow ON bounce_events (workflow_id);
