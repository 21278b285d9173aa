// msg_header and msg_footer: text at the top and bottom of every copy. With personalized per-recipient
// delivery the footer is added per member at delivery (mail/decoration/personalize.ts), so it is left out here.
import { renderTemplate } from '../context.js';
import { planTextSlot } from '../text-slot.js';
import type { Handler } from '../types.js';

export const headerFooter: Handler = {
  name: 'header-footer',
  description:
    'Adds msg_header and msg_footer: into a single text/plain part in its own charset and encoding, else as separate text/plain parts (multipart/mixed around the original when needed); signed content is wrapped, never changed, and encrypted content gets none.',
  apply: (raw, ctx) => {
    let out = raw;
    const s = ctx.settings;
    if (s.msg_footer && !(s.delivery_mode === 'per-recipient' && s.personalize !== 'none')) {
      const text = renderTemplate(s.msg_footer, ctx, null);
      const slot = planTextSlot(out, 'end', text);
      if (slot) out = Buffer.concat(slot.render(text));
    }
    if (s.msg_header) {
      const text = renderTemplate(s.msg_header, ctx, null);
      const slot = planTextSlot(out, 'start', text);
      if (slot) out = Buffer.concat(slot.render(text));
    }
    return out;
  },
};
