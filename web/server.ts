// The web role's HTTP API: health, lists, and a post's status and moderation (the UI builds on these); /api needs a bearer token.
import http from 'node:http';
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { describeFate, fateOf } from '../runtime/fate.js';
import type { Db } from '../store/db.js';
import { allLists } from '../store/lists.js';
import { isSha256 } from '../mail/ids.js';
import { moderateUpdate, statusQuery, type ModerationDecision } from '../workflows/messages.js';
import { createConfirmHandler, isConfirmPath } from './confirm.js';
import { createOneClickHandler, isOneClickPath, type OneClickDone } from './unsubscribe.js';
import { wakeMemberNotices } from '../runtime/member-notices.js';
import { markGoodbyeOwed } from '../store/subscriptions.js';
import { startSubscriptionWorkflow } from '../activities/subscriptions.js';
import { authenticate, bearerChallenge, bearerToken, tokenActor } from './auth.js';

export interface WebOptions {
  db: Db;
  client: Client;
  /** The base of links in mail listflow writes (LISTFLOW_PUBLIC_URL). */
  publicUrl?: string;
  hostname?: string;
  /**
   * The core and delivery task queues: with them, a one-click unsubscription also starts an unsubscription
   * workflow that sends the goodbye message (without them it only removes the member).
   */
  taskQueue?: string;
  deliveryTaskQueue?: string;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

async function readJson(req: http.IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 64 * 1024) throw new HttpError(413, 'request body too large');
    chunks.push(chunk as Buffer);
  }
  try {
    return chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : {};
  } catch {
    throw new HttpError(400, 'the body is not JSON');
  }
}

/** The request target as a URL; one that is not a URL at all (`//`, say) is the request's fault. */
function parsedUrl(target: string | undefined): URL {
  try {
    return new URL(target ?? '/', 'http://listflow');
  } catch {
    throw new HttpError(400, 'the request target is not a URL path');
  }
}

/** A path as its decoded text: a malformed percent-encoding is the request's fault (400), not the server's. */
function decodedPath(pathname: string): string {
  try {
    return decodeURIComponent(pathname);
  } catch {
    throw new HttpError(400, 'the path has a malformed percent-encoding');
  }
}

/** The decision a request asks for; `by` is who the token says is asking, never the body's `by` (ignored). */
function decisionOf(body: unknown, by: string): ModerationDecision {
  const b = (body ?? {}) as Record<string, unknown>;
  if (b.action !== 'approve' && b.action !== 'reject' && b.action !== 'discard' && b.action !== 'defer') {
    throw new HttpError(400, 'action must be approve, reject, discard or defer');
  }
  if (b.reason !== undefined && typeof b.reason !== 'string') throw new HttpError(400, 'reason must be a string');
  if (b.note !== undefined && typeof b.note !== 'string') throw new HttpError(400, 'note must be a string');
  // An edited version comes by reference: the hash of a message already in the store (as `listflow approve --edited` puts it).
  if (b.editedSha256 !== undefined && (b.action !== 'approve' || !isSha256(b.editedSha256))) {
    throw new HttpError(400, 'editedSha256 goes with approve and is a SHA-256 (64 lower-case hex digits)');
  }
  return {
    action: b.action,
    reason: b.reason as string | undefined,
    by,
    ...(typeof b.note === 'string' ? { note: b.note } : {}),
    ...(isSha256(b.editedSha256) ? { editedSha256: b.editedSha256 } : {}),
  };
}

export function createWebServer(o: WebOptions): http.Server {
  async function route(req: http.IncomingMessage): Promise<{ status: number; body: unknown }> {
    const url = parsedUrl(req.url);
    if (url.pathname === '/healthz' && req.method === 'GET') return { status: 200, body: { ok: true } };
    if (url.pathname !== '/api' && !url.pathname.startsWith('/api/')) throw new HttpError(404, 'not found');
    // Until people sign in (the web UI's accounts), every API call needs a token: none, or a bad one, changes nothing.
    const tokenName = await authenticate(o.db, req.headers.authorization);
    if (tokenName === null) {
      // RFC 6750 §3.1: invalid_token only when a bearer token was sent; no error code for none (or another scheme).
      const sent = bearerToken(req.headers.authorization) !== null;
      throw new HttpError(401, sent ? 'the bearer token is not valid' : 'a bearer token is needed (listflow tokens create)', {
        'www-authenticate': bearerChallenge(sent),
      });
    }
    if (url.pathname === '/api/lists' && req.method === 'GET') {
      const lists = await allLists(o.db);
      return { status: 200, body: lists.map((l) => ({ address: l.address, name: l.displayName, members: l.members })) };
    }
    const m = /^\/api\/posts\/(post\/[^/]+@[^/]+\/[0-9a-f]{16})(\/moderate)?$/.exec(decodedPath(url.pathname));
    if (m?.[1]) {
      const handle = o.client.workflow.getHandle(m[1]);
      try {
        if (!m[2] && req.method === 'GET') return { status: 200, body: await handle.query(statusQuery) };
        if (m[2] && req.method === 'POST') {
          const decision = decisionOf(await readJson(req), tokenActor(tokenName));
          return { status: 200, body: await handle.executeUpdate(moderateUpdate, { args: [decision] }) };
        }
      } catch (err) {
        if (err instanceof WorkflowNotFoundError && m[2]) {
          // Updates reach only running workflows: a post decided and delivered since is a conflict, not missing.
          const fate = await fateOf(handle).catch((e: unknown) => {
            if (e instanceof WorkflowNotFoundError) throw new HttpError(404, `no post ${m[1]}`);
            throw e;
          });
          throw new HttpError(409, `the post is not held any more (${describeFate(fate)})`);
        }
        if (err instanceof WorkflowNotFoundError) throw new HttpError(404, `no post ${m[1]}`);
        // An edited message that is not in the store (or not a message) is the request's fault, not a conflict.
        if (err instanceof WorkflowUpdateFailedError && (err.cause as { type?: string } | undefined)?.type === 'BadEdit') throw new HttpError(422, err.cause?.message ?? err.message);
        if (err instanceof WorkflowUpdateFailedError) throw new HttpError(409, err.cause?.message ?? err.message);
        throw err;
      }
      throw new HttpError(405, 'method not allowed');
    }
    throw new HttpError(404, 'not found');
  }

  const deps = { db: o.db, publicUrl: o.publicUrl ?? 'http://127.0.0.1:8025', hostname: o.hostname ?? 'localhost' };
  const oneClick = createOneClickHandler(o.db, o.taskQueue && o.deliveryTaskQueue ? goodbyeStarter(o.db, o.client, o.taskQueue, o.deliveryTaskQueue) : undefined);
  const confirm = createConfirmHandler({ db: o.db, client: o.client, deps });
  return http.createServer((req, res) => {
    // RFC 8058 one-click links (/u/…) and confirm links (/c/…) answer HTML pages, not JSON.
    if (isOneClickPath(req.url)) return void oneClick(req, res);
    if (isConfirmPath(req.url)) return void confirm(req, res);
    route(req).then(
      ({ status, body }) => {
        res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
        res.end(`${JSON.stringify(body)}\n`);
      },
      (err: Error) => {
        const status = err instanceof HttpError ? err.status : 500;
        res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...(err instanceof HttpError ? err.headers : {}) });
        res.end(`${JSON.stringify({ error: status === 500 ? 'internal error' : err.message })}\n`);
      },
    );
  });
}

/**
 * After a one-click removal: an unsubscription workflow, pre-confirmed and pre-approved (the signed link proved
 * it), that sends the goodbye message. The removal itself is already done and recorded, so a Temporal that is
 * down (or a request for the same address already running) costs the goodbye only, never the unsubscription.
 */
function goodbyeStarter(db: Db, client: Client, taskQueue: string, deliveryTaskQueue: string): (done: OneClickDone) => void {
  return (done) => {
    const request = {
      list: done.list,
      address: done.address,
      action: 'unsubscribe',
      via: 'one-click',
      requestedBy: done.address,
      preConfirmed: true,
      preApproved: true,
      removedVerpToken: done.verpToken,
      requestedAt: new Date().toISOString(),
    } as const;
    startSubscriptionWorkflow(client, { taskQueue, deliveryTaskQueue }, request)
      .catch(async (err: Error) => {
        // A request for the same address is running, or Temporal is down: the goodbye is owed instead, and the
        // list's member-notices workflow sends it (now, or when listflow next starts).
        try {
          await markGoodbyeOwed(db, done.list, done.verpToken);
          await wakeMemberNotices(client, { taskQueue, deliveryTaskQueue }, done.list);
        } catch (again) {
          process.stderr.write(`listflow: the goodbye for the one-click unsubscription of ${done.address} from ${done.list} waits (${err.message}; ${(again as Error).message})\n`);
        }
      });
  };
}
