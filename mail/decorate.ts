// Decoration for the backbone: the list headers (RFC 2369, RFC 2919), Precedence and the loop marker,
// spliced into the header block; the body bytes are never touched.
import { Headers } from '@zone-eu/mailsplit';
import { listSubAddress } from './address.js';
import { splitHeaderBlock } from './message.js';

export interface ListHeaderContext {
  list: string;
  displayName: string;
  description: string;
  seq: number;
  /** Base URL of listflow's HTTP endpoints, without a trailing slash. */
  publicUrl: string;
}

/** Headers a list replaces with its own: another list's copies would mislead members. */
const REPLACED = [
  'list-id', 'list-post', 'list-help', 'list-subscribe', 'list-unsubscribe', 'list-unsubscribe-post',
  'list-owner', 'list-archive', 'precedence', 'x-beenthere', 'x-listflow-seq', 'return-path',
];

/** The RFC 2919 List-Id: "Display name <list.domain>" — the local part's dots stay, '@' becomes '.'. */
export function listIdOf(list: string, displayName: string, description: string): string {
  const id = list.replace('@', '.');
  const label = (description || displayName).replace(/[\r\n"<>]/g, ' ').trim();
  return label ? `"${label.slice(0, 100)}" <${id}>` : `<${id}>`;
}

export function addListHeaders(raw: Buffer, ctx: ListHeaderContext): Buffer {
  const { header, body } = splitHeaderBlock(raw);
  const headers = new Headers(header);
  for (const key of REPLACED) headers.remove(key);
  const request = listSubAddress(ctx.list, 'request');
  // Headers.add inserts at the top; add in reverse so they read in this order.
  const added: [string, string][] = [
    ['List-Id', listIdOf(ctx.list, ctx.displayName, ctx.description)],
    ['List-Post', `<mailto:${ctx.list}>`],
    ['List-Help', `<mailto:${request}?subject=help>`],
    ['List-Subscribe', `<mailto:${request}?subject=subscribe>`],
    ['List-Unsubscribe', `<mailto:${request}?subject=unsubscribe>`],
    ['List-Owner', `<mailto:${listSubAddress(ctx.list, 'owner')}>`],
    ['Precedence', 'list'],
    ['X-BeenThere', ctx.list],
    ['X-Listflow-Seq', String(ctx.seq)],
  ];
  for (const [key, value] of added.reverse()) headers.add(key, value);
  return Buffer.concat([headers.build(), body]);
}
