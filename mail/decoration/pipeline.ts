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

export function decorate(raw: Buffer, ctx: DecorationContext, pipeline: readonly Handler[] = DECORATION_PIPELINE): Buffer {
  let out = raw;
  for (const handler of pipeline) out = handler.apply(out, ctx);
  return out;
}
