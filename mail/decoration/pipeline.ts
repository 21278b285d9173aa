// The decoration pipeline: one ordered table of handlers applied once to each accepted post. What they do
// not change stays byte for byte as the poster sent it. Per-member pieces (To, one-click List-Unsubscribe,
// the footer with member variables) are added at delivery by personalize.ts, on top of this result.
import type { DecorationContext } from './context.js';
import { cleanseHeaders } from './handlers/cleanse.js';
import { contentFilter } from './handlers/content-filter.js';
import { headerFooter } from './handlers/header-footer.js';
import { listHeaders } from './handlers/list-headers.js';
import { replyTo } from './handlers/reply-to.js';
import { subjectPrefix } from './handlers/subject-prefix.js';
import type { Handler } from './types.js';

export type { DecorationContext } from './context.js';
export type { Handler } from './types.js';

export const DECORATION_PIPELINE: readonly Handler[] = [
  cleanseHeaders,
  contentFilter,
  replyTo,
  subjectPrefix,
  headerFooter,
  listHeaders,
  // DMARC mitigation (munge From / wrap in message/rfc822) goes here, last: it must see the final message.
];

export interface Decorated {
  raw: Buffer;
  /** Handlers that failed on this message (malformed input), with why; the message went on without them. */
  skipped: string[];
}

/**
 * Runs the pipeline. A handler that throws on some malformed message is skipped rather than failing the
 * activity, which would retry for ever: the post goes out less decorated, and `skipped` says so.
 */
export function decorateReporting(raw: Buffer, ctx: DecorationContext, pipeline: readonly Handler[] = DECORATION_PIPELINE): Decorated {
  let out = raw;
  const skipped: string[] = [];
  for (const handler of pipeline) {
    try {
      out = handler.apply(out, ctx);
    } catch (err) {
      skipped.push(`${handler.name}: ${(err as Error)?.message ?? String(err)}`);
    }
  }
  return { raw: out, skipped };
}

export function decorate(raw: Buffer, ctx: DecorationContext, pipeline: readonly Handler[] = DECORATION_PIPELINE): Buffer {
  return decorateReporting(raw, ctx, pipeline).raw;
}
