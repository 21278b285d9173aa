// Confirm links, /c/<list>/<token>: GET shows what the token confirms and a button, POST applies it through
// TOKEN_HANDLERS (subscriptions, re-enabling delivery, …). Link scanners GET every URL, so GET changes nothing.
import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { TOKEN_HANDLERS, applyToken } from '../activities/token-actions.js';
import type { ActivityDeps } from '../activities/deps.js';
import { listSubAddress } from '../mail/address.js';
import { verifyToken, type TokenClaims } from '../mail/tokens.js';
import { siteSecret, type Db } from '../store/db.js';
import { getList, type List } from '../store/lists.js';
import { findRequest } from '../store/subscriptions.js';
import { subscriptionStatusQuery } from '../workflows/messages.js';
import { escapeHtml, page as basePage, pageHandler, PageError, readLimitedBody, send, tokenPath } from './pages.js';

/** A confirmation needs no body at all; more than this is not read. */
export const MAX_CONFIRM_BODY_BYTES = 8 * 1024;

const CONFIRM_PATH = /^\/c(?:[/?]|$)/;

export function isConfirmPath(url: string | undefined): boolean {
  return CONFIRM_PATH.test(url ?? '');
}

/** With `button`, a button of that label that posts back to the same URL. */
function page(title: string, paragraphs: string[], button?: string): string {
  return basePage(title, paragraphs, button ? { label: button, field: 'confirm', value: 'yes' } : undefined);
}

/** The state of a subscription workflow: 'ended' when it has, null when Temporal cannot say now. */
async function stateOf(client: Client, workflowId: string): Promise<string | null> {
  try {
    const status = await client.connection.withDeadline(Date.now() + 3000, () => client.workflow.getHandle(workflowId).query(subscriptionStatusQuery));
    return status.state;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return 'ended';
    return null;
  }
}

/** What the button will do, in words, as far as the token and the database say. */
async function describe(db: Db, client: Client, list: List, claims: TokenClaims): Promise<{ title: string; text: string; done?: boolean } | null> {
  const name = `<strong>${escapeHtml(list.displayName)}</strong> (${escapeHtml(list.address)})`;
  if (claims.kind === 'subscription') {
    const request = await findRequest(db, claims.ref.toString('hex'));
    if (!request || request.listAddress !== list.address) return null;
    const who = `<strong>${escapeHtml(request.address)}</strong>`;
    // A request already confirmed, decided or expired gets no button (the POST would only say so).
    const state = await stateOf(client, request.workflowId);
    if (state !== null && state !== 'awaiting_confirmation') {
      return { title: 'Nothing to confirm', text: `The request for ${who} on ${name} does not wait for a confirmation any more (it is ${escapeHtml(state.replace(/_/g, ' '))}).`, done: true };
    }
    return request.action === 'subscribe'
      ? { title: `Join ${list.address}?`, text: `Confirm that ${who} should be subscribed to ${name}.` }
      : { title: `Leave ${list.address}?`, text: `Confirm that ${who} should be unsubscribed from ${name}.` };
  }
  if (claims.kind === 'reenable') return { title: `Turn delivery back on?`, text: `Confirm that mail from ${name} should be delivered to your address again.` };
  return { title: 'Confirm?', text: `Confirm this request (${escapeHtml(claims.kind)}, ${escapeHtml(String(claims.action))}) for ${name}.` };
}

export interface ConfirmHandlerOptions {
  db: Db;
  client: Client;
  /** What token handlers are given (publicUrl and hostname for any mail they write). */
  deps: ActivityDeps;
}

/** The handler for everything under /c/; it answers every request itself and never rejects. */
export function createConfirmHandler(o: ConfirmHandlerOptions): (req: http.IncomingMessage, res: http.ServerResponse) => Promise<void> {
  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const target = tokenPath('c', new URL(req.url ?? '/', 'http://listflow').pathname);
    if (!target) throw new PageError(404, 'Not found', 'This is not a confirmation link listflow issues: it should look like /c/&lt;list&gt;/&lt;token&gt;.');
    if (method !== 'GET' && method !== 'HEAD' && method !== 'POST') {
      throw new PageError(405, 'Method not allowed', `${escapeHtml(method)} is not used here: GET shows what will be confirmed, POST confirms it.`, { allow: 'GET, HEAD, POST' });
    }
    if (method === 'POST') await readLimitedBody(req, MAX_CONFIRM_BODY_BYTES, 'confirming needs no body');
    const check = verifyToken(await siteSecret(o.db), target.token, target.list, Math.floor(Date.now() / 1000));
    if (!check.ok) {
      if (check.why === 'expired') throw new PageError(410, 'Link expired', `This confirmation link has expired (${escapeHtml(check.message)}); nothing was changed. Make the request again to get a new one.`);
      if (check.why === 'malformed') throw new PageError(400, 'Invalid link', `This is not a valid confirmation link (${escapeHtml(check.message)}); nothing was changed. Check that the whole link was copied.`);
      throw new PageError(403, 'Invalid link', `This confirmation link is not valid for ${escapeHtml(target.list)} (${escapeHtml(check.message)}); nothing was changed.`);
    }
    if (!TOKEN_HANDLERS[check.claims.kind]) throw new PageError(403, 'Invalid link', 'This token is not confirmed by a link; nothing was changed.');
    const list = await getList(o.db, target.list);
    if (!list) throw new PageError(404, 'No such list', `The list ${escapeHtml(target.list)} does not exist (any more); nothing was changed.`);

    if (method !== 'POST') {
      const what = await describe(o.db, o.client, list, check.claims);
      if (!what) throw new PageError(404, 'No such request', 'This link names no request of this list; nothing was changed.');
      if (what.done) send(res, 200, page(what.title, [what.text]));
      else send(res, 200, page(what.title, [what.text, 'Nothing happens until you press the button.'], 'Confirm'));
      return;
    }
    // Each POST is its own claimant: the first one uses the token, a repeat is told it was used.
    const result = await applyToken(o.deps, o.client, { list: list.address, token: target.token, by: 'web', via: 'web', claimedBy: `web:${randomUUID()}` });
    const details = result.details.filter(Boolean).map(escapeHtml);
    if (result.state === 'applied') {
      send(res, 200, page('Confirmed', [escapeHtml(result.headline), ...details]));
      return;
    }
    const owner = listSubAddress(list.address, 'owner');
    send(res, 409, page('Not confirmed', [escapeHtml(result.headline), ...details, `Questions go to the list owners: <a href="mailto:${escapeHtml(owner)}">${escapeHtml(owner)}</a>.`]));
  }

  return pageHandler(handle);
}
