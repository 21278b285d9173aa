// Which errors no retry can heal: each becomes a non-retryable ApplicationFailure with a type the workflows
// and operators read (MessageMissing, MalformedMessage, ListGone, BadSetting); every other error is left
// as it is, so the activity's bounded retry policy retries it with back-off.
import { ApplicationFailure } from '@temporalio/common';
import { PatternError } from '../mail/patterns.js';
import { SettingError } from '../mail/settings.js';
import { ListGoneError } from '../store/lists.js';
import { MessageMissingError } from '../store/messages.js';

/** A stored message that cannot be read as mail at all: retrying reads the same bytes. */
export class MalformedMessageError extends Error {
  override name = 'MalformedMessageError';
}

export const PERMANENT_TYPES = ['MessageMissing', 'MalformedMessage', 'ListGone', 'BadSetting'] as const;

/**
 * The non-retryable failure an error stands for, or null when a retry may heal it. Its details name the activity:
 * a local activity's failure reaches the workflow without its name.
 */
export function permanentFailure(err: unknown, activity?: string): ApplicationFailure | null {
  if (!(err instanceof Error) || err instanceof ApplicationFailure) return null;
  const type =
    err instanceof MessageMissingError
      ? 'MessageMissing'
      : err instanceof MalformedMessageError
        ? 'MalformedMessage'
        : err instanceof ListGoneError
          ? 'ListGone'
          : err instanceof SettingError || err instanceof PatternError
            ? 'BadSetting'
            : null;
  return type ? ApplicationFailure.create({ message: err.message, type, nonRetryable: true, cause: err, ...(activity ? { details: [activity] } : {}) }) : null;
}

type AnyActivity = (...args: never[]) => Promise<unknown>;

/** The same activities, each turning a permanent error into its non-retryable failure as it leaves. */
export function withPermanentFailures<T extends Record<string, AnyActivity>>(activities: T): T {
  const wrapped: Record<string, AnyActivity> = {};
  for (const [name, fn] of Object.entries(activities)) {
    // A named function keeps the activity's name in stack traces.
    wrapped[name] = {
      async [name](...args: never[]) {
        try {
          return await fn(...args);
        } catch (err) {
          throw permanentFailure(err, name) ?? err;
        }
      },
    }[name] as AnyActivity;
  }
  return wrapped as T;
}
