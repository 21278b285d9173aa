// List settings: every key, its default, what it means, and how a value given as text is validated.

export type ModerationAction = 'accept' | 'hold' | 'reject' | 'discard';
export type DeliveryMode = 'bulk' | 'per-recipient';

export interface ListSettings {
  description: string;
  nonmember_action: ModerationAction;
  default_member_action: ModerationAction;
  max_message_size_kb: number;
  max_hold_days: number;
  hold_expiry_action: 'discard' | 'reject';
  notify_held_sender: boolean;
  delivery_mode: DeliveryMode;
  bulk_max_recipients: number;
  per_recipient_batch: number;
  delivery_retry_days: number;
  delivery_retry_wait_seconds: number;
  delivery_retry_max_wait_seconds: number;
  hold_spoofed_members: boolean;
}

interface SettingSpec<K extends keyof ListSettings> {
  key: K;
  default: ListSettings[K];
  description: string;
  parse(text: string): ListSettings[K];
}

/** A setting value that cannot be used; the message is one line for the operator. */
export class SettingError extends Error {
  override name = 'SettingError';
}

function oneOf<T extends string>(...choices: T[]): (text: string) => T {
  return (text) => {
    if (!(choices as string[]).includes(text)) throw new SettingError(`must be one of ${choices.join(', ')}`);
    return text as T;
  };
}

function wholeNumber(min: number, max: number): (text: string) => number {
  return (text) => {
    const n = Number(text);
    if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new SettingError(`must be a whole number from ${min} to ${max}`);
    }
    return n;
  };
}

function boolean(text: string): boolean {
  if (['true', 'yes', 'on', '1'].includes(text.toLowerCase())) return true;
  if (['false', 'no', 'off', '0'].includes(text.toLowerCase())) return false;
  throw new SettingError('must be true or false');
}

function shortText(text: string): string {
  if (text.length > 1000 || /[\r\n]/.test(text)) throw new SettingError('must be one line of at most 1000 characters');
  return text;
}

const moderationAction = oneOf<ModerationAction>('accept', 'hold', 'reject', 'discard');

/** Every list setting, in the order `lists show` prints them. */
export const SETTINGS: { [K in keyof ListSettings]: SettingSpec<K> } = {
  description: { key: 'description', default: '', description: 'one line saying what the list is for', parse: shortText },
  nonmember_action: {
    key: 'nonmember_action',
    default: 'hold',
    description: 'what happens to a post from an address that is not a member',
    parse: moderationAction,
  },
  default_member_action: {
    key: 'default_member_action',
    default: 'accept',
    description: "what happens to a member's post when the member's own moderation is 'default'",
    parse: moderationAction,
  },
  max_message_size_kb: {
    key: 'max_message_size_kb',
    default: 40,
    description: 'posts larger than this many KiB are held (0: no limit)',
    parse: wholeNumber(0, 1024 * 1024),
  },
  max_hold_days: {
    key: 'max_hold_days',
    default: 7,
    description: 'days a held post waits for a moderator before the expiry action',
    parse: wholeNumber(1, 365),
  },
  hold_expiry_action: {
    key: 'hold_expiry_action',
    default: 'discard',
    description: 'what happens to a held post nobody acted on (the sender is told either way)',
    parse: oneOf('discard', 'reject'),
  },
  notify_held_sender: {
    key: 'notify_held_sender',
    default: true,
    description: 'tell the poster that a post awaits moderation',
    parse: boolean,
  },
  delivery_mode: {
    key: 'delivery_mode',
    default: 'bulk',
    description: 'bulk: many recipients per SMTP transaction; per-recipient: one each, with a VERP return path',
    parse: oneOf<DeliveryMode>('bulk', 'per-recipient'),
  },
  bulk_max_recipients: {
    key: 'bulk_max_recipients',
    default: 500,
    description: 'recipients per SMTP transaction in bulk mode',
    parse: wholeNumber(1, 10000),
  },
  per_recipient_batch: {
    key: 'per_recipient_batch',
    default: 1000,
    description: 'recipients handled by one delivery activity in per-recipient mode',
    parse: wholeNumber(1, 100000),
  },
  delivery_retry_days: {
    key: 'delivery_retry_days',
    default: 5,
    description: 'days a temporarily failing recipient is retried before it counts as failed',
    parse: wholeNumber(0, 60),
  },
  delivery_retry_wait_seconds: {
    key: 'delivery_retry_wait_seconds',
    default: 900,
    description: 'first wait before a temporary failure is retried; doubles each round',
    parse: wholeNumber(1, 86400),
  },
  delivery_retry_max_wait_seconds: {
    key: 'delivery_retry_max_wait_seconds',
    default: 4 * 3600,
    description: 'longest wait between two delivery retries',
    parse: wholeNumber(1, 7 * 86400),
  },
  hold_spoofed_members: {
    key: 'hold_spoofed_members',
    default: false,
    description: 'hold a post whose From is a member but which fails DMARC, or both SPF and DKIM (recommended)',
    parse: boolean,
  },
};

export const SETTING_KEYS = Object.keys(SETTINGS) as (keyof ListSettings)[];

export function defaultSettings(): ListSettings {
  const out: Record<string, unknown> = {};
  for (const key of SETTING_KEYS) out[key] = SETTINGS[key].default;
  return out as unknown as ListSettings;
}

export function isSettingKey(key: string): key is keyof ListSettings {
  return Object.prototype.hasOwnProperty.call(SETTINGS, key);
}

/** Parses one `key=value` assignment; throws SettingError naming the key and what it must be. */
export function parseAssignment(assignment: string): Partial<ListSettings> {
  const eq = assignment.indexOf('=');
  if (eq <= 0) throw new SettingError(`"${assignment}" is not key=value`);
  const key = assignment.slice(0, eq).trim();
  const value = assignment.slice(eq + 1);
  if (!isSettingKey(key)) throw new SettingError(`unknown setting "${key}" (known: ${SETTING_KEYS.join(', ')})`);
  try {
    return { [key]: SETTINGS[key].parse(value) } as Partial<ListSettings>;
  } catch (err) {
    throw new SettingError(`${key}=${value}: ${(err as Error).message}`);
  }
}

/** Merges stored overrides over the defaults, ignoring (never trusting) anything that fails validation. */
export function resolveSettings(stored: Record<string, unknown>): ListSettings {
  const settings = defaultSettings() as unknown as Record<string, unknown>;
  for (const [key, value] of Object.entries(stored)) {
    if (!isSettingKey(key)) continue;
    try {
      settings[key] = SETTINGS[key].parse(String(value));
    } catch {
      // A stored value that no longer validates falls back to the default rather than stopping mail.
    }
  }
  return settings as unknown as ListSettings;
}
