// RFC 2369 and RFC 2919 list headers, Archived-At (RFC 5064) and X-Message-ID-Hash, Precedence and the
// loop marker. Another list's copies of these would mislead members, so they are replaced, not stacked.
import { createHash } from 'node:crypto';
import { listSubAddress } from '../../address.js';
import { listIdOf } from '../../decorate.js';
import { mailtoUnsubscribe, messageIdHash, permalink } from '../../links.js';
import { splitHeaderBlock } from '../../message.js';
import { archiveUrl } from '../context.js';
import { editHeaders, type Handler } from '../types.js';

const REPLACED = [
  'list-id', 'list-post', 'list-help', 'list-subscribe', 'list-unsubscribe', 'list-unsubscribe-post',
  'list-owner', 'list-archive', 'archived-at', 'x-message-id-hash', 'precedence', 'x-beenthere', 'x-listflow-seq', 'return-path',
];

export const listHeaders: Handler = {
  name: 'list-headers',
  description: 'Adds List-Id, List-Post, List-Help, List-Subscribe, List-Unsubscribe, List-Owner, List-Archive, Archived-At, X-Message-ID-Hash, Precedence and X-BeenThere (a Message-ID first, if the post has none).',
  apply: (raw, ctx) =>
    editHeaders(raw, (h) => {
      for (const key of REPLACED) if (h.hasHeader(key)) h.remove(key);
      // The poster's Message-ID is kept as it is, even when odd (it may be signed); only a missing one is added.
      let messageId = h.getFirst('message-id').replace(/\s+/g, '');
      if (!messageId) {
        // Archive links need one; derived from the post so a repeated accept gives the same ID.
        const digest = createHash('sha256').update(splitHeaderBlock(raw).body).update(String(ctx.seq)).digest('hex').slice(0, 20);
        messageId = `<${ctx.seq}.${digest}@${ctx.list.slice(ctx.list.lastIndexOf('@') + 1)}>`;
        if (h.hasHeader('message-id')) h.remove('message-id');
        h.add('Message-ID', messageId);
      }
      const request = listSubAddress(ctx.list, 'request');
      const added: [string, string][] = [
        ['List-Id', listIdOf(ctx.list, ctx.displayName, ctx.settings.description)],
        ['List-Post', `<mailto:${ctx.list}>`],
        ['List-Help', `<mailto:${request}?subject=help>`],
        ['List-Subscribe', `<mailto:${listSubAddress(ctx.list, 'join')}?subject=subscribe>`],
        ['List-Unsubscribe', `<${mailtoUnsubscribe(ctx.list)}>`],
        ['List-Owner', `<mailto:${listSubAddress(ctx.list, 'owner')}>`],
        ['List-Archive', `<${archiveUrl(ctx.publicUrl, ctx.list)}>`],
        ['Archived-At', `<${permalink(ctx.publicUrl, ctx.list, messageId)}>`],
        ['X-Message-ID-Hash', messageIdHash(messageId)],
        ['Precedence', 'list'],
        ['X-BeenThere', ctx.list],
        ['X-Listflow-Seq', String(ctx.seq)],
      ];
      // Headers.add inserts at the top; add in reverse so they read in this order.
      for (const [key, value] of added.reverse()) h.add(key, value);
    }),
};
