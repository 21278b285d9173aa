// Workflow IDs people type: post/<list>/<key>, where key is the first 16 hex digits of the raw message's SHA-256.
export type IdKind = 'post' | 'request' | 'owner' | 'bounce' | 'confirm';

export function messageKey(sha256: string): string {
  return sha256.slice(0, 16);
}

/**
 * `detail` (the +token of -confirm+TOKEN, the +VERP of -bounces+VERP) is part of the ID: one message to two
 * confirm addresses (a moderator approving two posts in one reply) is two workflows, not one.
 */
export function workflowIdFor(kind: IdKind, list: string, sha256: string, detail?: string): string {
  const base = `${kind}/${list}/${messageKey(sha256)}`;
  return detail ? `${base}/${detail.toLowerCase()}` : base;
}

/** True for a bare message key (what `listflow status <id>` accepts besides a full workflow ID). */
export function isShortKey(text: string): boolean {
  return /^[0-9a-f]{16}$/.test(text);
}

/** A whole SHA-256 in hex, as the message store keys messages (no imports here: workflow code uses it). */
export function isSha256(text: unknown): text is string {
  return typeof text === 'string' && /^[0-9a-f]{64}$/.test(text);
}
