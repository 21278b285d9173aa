// `listflow tokens …`: bearer tokens for the HTTP API — made (and shown) once, listed without the secret, revoked.
import { ApiTokenError, createApiToken, listApiTokens, revokeApiToken } from '../store/api-tokens.js';
import type { Context } from './context.js';
import { CliError } from './errors.js';
import { clean, json, table, when } from './output.js';

/** Prints the token alone on stdout (for `TOKEN=$(listflow tokens create --name ci)`); the advice goes to stderr. */
export async function tokensCreate(ctx: Context, opts: { name: string }): Promise<void> {
  let token: string;
  try {
    token = await createApiToken(await ctx.db(), opts.name, ctx.actor);
  } catch (err) {
    if (err instanceof ApiTokenError) throw new CliError(err.message);
    throw err;
  }
  ctx.out(`${token}\n`);
  ctx.warn(`made API token ${opts.name}; it is shown only this once (listflow keeps only its hash): send it as "Authorization: Bearer <token>"`);
}

export async function tokensList(ctx: Context, opts: { all?: boolean; json?: boolean }): Promise<void> {
  const tokens = await listApiTokens(await ctx.db(), opts.all);
  if (opts.json) {
    ctx.out(json(tokens));
    return;
  }
  if (tokens.length === 0) {
    ctx.out(`no API tokens${opts.all ? '' : ' (revoked ones: --all)'}; make one with: listflow tokens create --name <name>\n`);
    return;
  }
  const headers = ['NAME', 'CREATED', 'LAST USED', 'BY', ...(opts.all ? ['REVOKED'] : [])];
  ctx.out(table(headers, tokens.map((t) => [t.name, when(t.createdAt), when(t.lastUsedAt) || 'never', clean(t.createdBy), ...(opts.all ? [when(t.revokedAt)] : [])])));
}

export async function tokensRevoke(ctx: Context, name: string): Promise<void> {
  if (!(await revokeApiToken(await ctx.db(), name))) throw new CliError(`no live API token is named ${name} (see: listflow tokens list)`);
  ctx.out(`revoked API token ${name}; requests with it are refused from now on\n`);
}
