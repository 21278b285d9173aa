// Per-recipient copies: the shared decorated post is prepared once per delivery batch (the personal headers
// taken out, the footer's place and encoding planned); each member's copy is then a few rendered lines and
// a concatenation of buffers — never a parse per recipient.
import { Headers } from '@zone-eu/mailsplit';
import { mailtoUnsubscribe } from '../links.js';
import { splitHeaderBlock } from '../message.js';
import { renderTemplate, type DecorationContext, type MemberVars } from './context.js';
import { eolOf } from './tree.js';
import { planTextSlot, type TextSlot } from './text-slot.js';

export interface Personalizer {
  /** The copy for one member. */
  render(member: MemberVars): Buffer;
}

const PERSONAL = ['list-unsubscribe', 'list-unsubscribe-post'];

export function preparePersonalization(decorated: Buffer, ctx: DecorationContext): Personalizer {
  const eol = eolOf(decorated);
  const { header, body } = splitHeaderBlock(decorated);
  const headers = new Headers(header);
  const full = ctx.settings.personalize === 'full';
  // The list stays reachable by "reply all": the addresses of the original To move to Cc.
  const to = full ? headers.get('to').map((l) => l.replace(/^[^:]*:\s*/, '').replace(/\r?\n[ \t]*/g, ' ').trim()).filter(Boolean) : [];
  for (const key of full ? [...PERSONAL, 'to'] : PERSONAL) if (headers.hasHeader(key)) headers.remove(key);
  if (to.length) {
    const cc = headers.get('cc').map((l) => l.replace(/^[^:]*:\s*/, '').replace(/\r?\n[ \t]*/g, ' ').trim());
    if (cc.length) headers.remove('cc');
    headers.add('Cc', [...cc, ...to].filter(Boolean).join(', '));
  }
  const shared = Buffer.concat([headers.build(eol), body]);
  const footer = ctx.settings.msg_footer;
  const sample = { address: 'member@example.org', unsubscribeUrl: `${ctx.publicUrl}/u/x` };
  const slot: TextSlot | null = footer ? planTextSlot(shared, 'end', renderTemplate(footer, ctx, sample)) : null;
  const chunks = slot ? null : [shared];
  const mailto = mailtoUnsubscribe(ctx.list);
  return {
    render(member) {
      const lines =
        (full ? `To: ${member.address}${eol}` : '') +
        `List-Unsubscribe: <${member.unsubscribeUrl}>,${eol} <${mailto}>${eol}` +
        `List-Unsubscribe-Post: List-Unsubscribe=One-Click${eol}`;
      const rest = slot ? slot.render(renderTemplate(footer, ctx, member)) : (chunks as Buffer[]);
      return Buffer.concat([Buffer.from(lines, 'utf8'), ...rest]);
    },
  };
}

