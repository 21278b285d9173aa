// `listflow chain`: the posting chain on one screen, in the order the rules run.
import { POSTING_CHAIN } from '../mail/chain.js';
import type { Context } from './context.js';
import { json, table } from './output.js';

export async function chain(ctx: Context, opts: { json?: boolean }): Promise<void> {
  if (opts.json) {
    ctx.out(json(POSTING_CHAIN.map((r) => ({ rule: r.rule.name, action: r.action, description: r.rule.description }))));
    return;
  }
  ctx.out(table(['RULE', 'ACTION', 'WHEN'], POSTING_CHAIN.map((r) => [r.rule.name, r.action, r.rule.description])));
  ctx.out('from-rule: the setting that matched names the action. defer: noted, and the post is held at the end.\n');
  ctx.out('The first hit with another action decides; a post no rule stopped is accepted.\n');
}
