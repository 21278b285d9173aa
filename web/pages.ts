// The small HTML pages of link endpoints (/u/ one-click unsubscribe, /c/ confirm): one look, one set of headers.
import type http from 'node:http';

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A button that posts back to the page's own URL (token included), with one hidden field. */
export interface PageButton {
  label: string;
  field: string;
  value: string;
}

/** A page: escaped title, paragraphs as given (callers escape what they put in), an optional POST button. */
export function page(title: string, paragraphs: string[], button?: PageButton): string {
  // The form has no action: it posts back to the URL it came from, token included.
  const form = button
    ? `<form method="post"><input type="hidden" name="${escapeHtml(button.field)}" value="${escapeHtml(button.value)}"><button type="submit">${escapeHtml(button.label)}</button></form>\n`
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="robots" content="noindex">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:36em;margin:3em auto;padding:0 1em;line-height:1.5}button{font-size:1.1em;padding:.4em 1.2em}</style>
</head><body>
<h1>${escapeHtml(title)}</h1>
${paragraphs.map((p) => `<p>${p}</p>\n`).join('')}${form}</body></html>
`;
}

export function send(res: http.ServerResponse, status: number, html: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    // The token in the URL is a credential: keep it out of caches, indexes and Referer headers.
    'cache-control': 'no-store',
    'referrer-policy': 'no-referrer',
    'x-robots-tag': 'noindex',
    'x-content-type-options': 'nosniff',
    'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
    ...headers,
  });
  res.end(html);
}

/** `/<prefix>/<list>/<token>` (an optional trailing slash), or null for anything else. */
export function tokenPath(prefix: string, pathname: string): { list: string; token: string } | null {
  const m = new RegExp(`^/${prefix}/([^/]+)/([^/]+)/?$`).exec(pathname);
  if (!m?.[1] || !m[2]) return null;
  let list: string;
  try {
    list = decodeURIComponent(m[1]).toLowerCase();
  } catch {
    return null;
  }
  if (!/^[^\s@/]+@[^\s@/]+\.[^\s@/]+$/.test(list) || !/^[A-Za-z2-7]{16,256}$/.test(m[2])) return null;
  return { list, token: m[2] };
}

/** An answer other than 200; its message is HTML, so whatever it quotes is escaped where it is built. */
export class PageError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** Reads a request body of at most `max` bytes; past that, a 413 that closes the connection rather than read on. */
export async function readLimitedBody(req: http.IncomingMessage, max: number, why: string): Promise<Buffer> {
  const tooLarge = () => new PageError(413, 'Request too large', `The request body is larger than ${max} bytes, so nothing was changed; ${why}.`, { connection: 'close' });
  if (Number(req.headers['content-length'] ?? 0) > max) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > max) throw tooLarge();
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Wraps a page handler so that it answers every request itself and never rejects: PageError as its page, the rest 500. */
export function pageHandler(handle: (req: http.IncomingMessage, res: http.ServerResponse) => Promise<void>): (req: http.IncomingMessage, res: http.ServerResponse) => Promise<void> {
  return async (req, res) => {
    try {
      await handle(req, res);
    } catch (err) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (err instanceof PageError) {
        send(res, err.status, page(err.title, [err.message]), err.headers);
        return;
      }
      send(res, 500, page('Something went wrong', ['The request could not be completed. Please try again later.']));
    }
  };
}
