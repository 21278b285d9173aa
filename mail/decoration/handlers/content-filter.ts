// Takes filtered parts out of an accepted post. Whether a post with such parts is held or rejected instead
// was decided at classification (mail/rules/content-filter.ts), with the same filter.
import { filterContent } from '../content-filter.js';
import type { Handler } from '../types.js';

export const contentFilter: Handler = {
  name: 'content-filter',
  description: 'With filter_content: removes parts by filter_types/pass_types/filter_extensions/pass_extensions, collapses multipart/alternative, converts HTML to text.',
  apply: (raw, ctx) => filterContent(raw, ctx.settings).raw ?? raw,
};
