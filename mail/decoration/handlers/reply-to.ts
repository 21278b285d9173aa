// Reply-To munging (Mailman's reply_goes_to_list, first_strip_reply_to, reply_to_address).
import addressparser from 'nodemailer/lib/addressparser';
import { editHeaders, type Handler } from '../types.js';

export const replyTo: Handler = {
  name: 'reply-to',
  description: 'Strips the poster\'s Reply-To when first_strip_reply_to is on; points Reply-To at the list or reply_to_address (reply_goes_to_list).',
  apply: (raw, ctx) => {
    const s = ctx.settings;
    const target = s.reply_goes_to_list === 'list' ? ctx.list : s.reply_goes_to_list === 'explicit' ? s.reply_to_address : '';
    if (!s.first_strip_reply_to && !target) return raw;
    return editHeaders(raw, (h) => {
      const existing = s.first_strip_reply_to ? [] : h.get('reply-to').map((line) => line.replace(/^[^:]*:\s*/, '').replace(/\r?\n/g, ''));
      if (h.hasHeader('reply-to')) h.remove('reply-to');
      if (!target) return;
      // The poster's own Reply-To (when kept) stays beside the list's, as Mailman does.
      const known = existing.flatMap((v) => addressparser(v, { flatten: true }).map((a) => a.address.toLowerCase()));
      const values = known.includes(target.toLowerCase()) ? existing : [...existing, target];
      h.add('Reply-To', values.join(', '));
    });
  },
};
