// RFC 8058 one-click unsubscription at /u/<list>/<token>: POST unsubscribes, GET only shows a confirmation form,
// because link scanners and previewers GET every URL in a message and must not unsubscribe anyone.
import type http from 'node:http';
import { listSubAddress } from '../mail/address.js';
import { mailtoUnsubscribe } from '../mail/links.js';
import { verifyToken } from '../mail/tokens.js';
import { siteSecret, type Db } from '../store/db.js';
import { getList } from '../store/lists.js';
import { escapeHtml, page as basePage, pageHandler, PageError, readLimitedBody, send, tokenPath } from './pages.js';
import { memberByVerpToken, unsubscribeByVerpToken, unsubscriptionOf, type Unsubscription } from '../store/unsubscriptions.js';

/** Far more than `List-Unsubscribe=One-Click` in any encoding a mail client uses; the rest is not read. */
export const MAX_BODY_BYTES = 8 * 1024;

/** How the audit table names this path. */
export const VIA_ONE_CLICK = 'one-click';

const ONE_CLICK_PATH = /^\/u(?:[/?]|$)/;

/** Whether a request URL is for this handler (everything under /u/, so bad paths get its 404 page). */
export function isOneClickPath(url: string | undefined): boolean {
  return ONE_CLICK_PATH.test(url ?? '');
}


/** With `form`, the button that posts List-Unsubscribe=One-Click back to the same URL. */
function page(title: string, paragraphs: string[], form = false): string {
  return basePage(title, paragraphs, form ? { label: 'Unsubscribe', field: 'List-Unsubscribe', value: 'One-Click' } : undefined);
}

const BAD_BODY = 'A one-click unsubscription is a POST whose body is List-Unsubscribe=One-Click (RFC 8058), as application/x-www-form-urlencoded or multipart/form-data.';

/** RFC 8058 §3.1: the body carries `List-Unsubscribe=One-Click`, form-urlencoded or as multipart/form-data. */
async function checkBody(contentType: string | undefined, body: Buffer): Promise<void> {
  const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  let value: unknown;
  // No Content-Type at all is read as a form: being strict here would only fail a sloppy mail client.
  if (type === '' || type === 'application/x-www-form-urlencoded') {
    value = new URLSearchParams(body.toString('utf8')).get('List-Unsubscribe');
  } else if (type === 'multipart/form-data') {
    try {
      // The fetch API's multipart parser (undici, built into Node): boundaries, quoting and CRLFs done right.
      value = (await new Response(body, { headers: { 'content-type': contentType ?? '' } }).formData()).get('List-Unsubscribe');
    } catch {
      throw new PageError(400, 'Bad request', `The multipart/form-data body could not be parsed; nothing was changed. ${BAD_BODY}`);
    }
  } else {
    throw new PageError(415, 'Unsupported body', `A body of type ${escapeHtml(type)} is not accepted; nothing was changed. ${BAD_BODY}`);
  }
  if (typeof value !== 'string' || value.trim() !== 'One-Click') {
    throw new PageError(400, 'Bad request', `Nothing was changed. ${BAD_BODY}`);
  }
}

function goneMessage(list: string, record: Unsubscription | null): string {
  const who = record ? `<strong>${escapeHtml(record.address)}</strong>` : 'This address';
  const when = record ? ` (since ${escapeHtml(record.at.toISOString().slice(0, 16).replace('T', ' '))} UTC)` : '';
  return `${who} is already unsubscribed from <strong>${escapeHtml(list)}</strong>${when}. Nothing was changed.`;
}

function joinHint(list: string): string {
  const join = listSubAddress(list, 'join');
  return `To subscribe again, send a message to <a href="mailto:${escapeHtml(join)}">${escapeHtml(join)}</a>.`;
}

/** A membership a one-click POST ended (for the goodbye message). */
export interface OneClickDone {
  list: string;
  address: string;
  verpToken: string;
}

/** The handler for everything under /u/; it answers every request itself and never rejects. */
export function createOneClickHandler(db: Db, ended?: (done: OneClickDone) => void): (req: http.IncomingMessage, res: http.ServerResponse) => Promise<void> {
  // Read once; not cached on failure, so a database that was down at the first request is asked again.
  let secret: Promise<string> | null = null;
  const getSecret = () => {
    secret ??= siteSecret(db).catch((err: unknown) => {
      secret = null;
      throw err;
    });
    return secret;
  };

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const target = tokenPath('u', new URL(req.url ?? '/', 'http://listflow').pathname);
    if (!target) throw new PageError(404, 'Not found', 'This is not an unsubscription link listflow issues: it should look like /u/&lt;list&gt;/&lt;token&gt;.');
    // HEAD is GET without a body (RFC 9110); neither changes anything.
    if (method !== 'GET' && method !== 'HEAD' && method !== 'POST') {
      throw new PageError(405, 'Method not allowed', `${escapeHtml(method)} is not used here: GET shows the confirmation form, POST unsubscribes.`, { allow: 'GET, HEAD, POST' });
    }
    const body = method === 'POST' ? await readLimitedBody(req, MAX_BODY_BYTES, 'a one-click unsubscription needs only “List-Unsubscribe=One-Click”') : null;

    const check = verifyToken(await getSecret(), target.token, target.list, Math.floor(Date.now() / 1000));
    if (!check.ok) {
      if (check.why === 'expired') {
        const mailto = mailtoUnsubscribe(target.list);
        throw new PageError(410, 'Link expired', `This unsubscription link is too old to be used (${escapeHtml(check.message)}); nothing was changed. To unsubscribe, send a message to <a href="${escapeHtml(mailto)}">${escapeHtml(listSubAddress(target.list, 'leave'))}</a>, or use the link in a recent message from the list.`);
      }
      if (check.why === 'malformed') throw new PageError(400, 'Invalid link', `This is not a valid unsubscription link (${escapeHtml(check.message)}); nothing was changed. Check that the whole link was copied.`);
      throw new PageError(403, 'Invalid link', `This unsubscription link is not valid for ${escapeHtml(target.list)} (${escapeHtml(check.message)}); nothing was changed.`);
    }
    if (check.claims.kind !== 'unsubscribe') throw new PageError(403, 'Invalid link', 'This token is not an unsubscription link; nothing was changed.');
    const verpToken = check.claims.ref.toString('utf8');
    const list = await getList(db, target.list);
    if (!list) throw new PageError(404, 'No such list', `The list ${escapeHtml(target.list)} does not exist (any more); nothing was changed.`);

    if (body === null) {
      const member = await memberByVerpToken(db, list.id, verpToken);
      if (!member) {
        send(res, 200, page('Already unsubscribed', [goneMessage(list.address, await unsubscriptionOf(db, list.address, verpToken))]));
        return;
      }
      send(
        res,
        200,
        page(
          `Unsubscribe from ${list.address}?`,
          [
            `Stop mail from <strong>${escapeHtml(list.displayName)}</strong> (${escapeHtml(list.address)}) to <strong>${escapeHtml(member.address)}</strong>?`,
            'Nothing happens until you press the button.',
          ],
          true,
        ),
      );
      return;
    }

    await checkBody(req.headers['content-type'], body);
    const result = await unsubscribeByVerpToken(db, list, verpToken, VIA_ONE_CLICK);
    if (result.outcome === 'already') {
      send(res, 200, page('Already unsubscribed', [goneMessage(list.address, result.record), joinHint(list.address)]));
      return;
    }
    ended?.({ list: list.address, address: result.record.address, verpToken });
    send(
      res,
      200,
      page('Unsubscribed', [
        `<strong>${escapeHtml(result.record.address)}</strong> has been unsubscribed from <strong>${escapeHtml(list.displayName)}</strong> (${escapeHtml(list.address)}) and will get no more mail from it.`,
        joinHint(list.address),
      ]),
    );
  }

  return pageHandler(handle);
}
