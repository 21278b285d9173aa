// Verifies a post's sender (SPF, DKIM, DMARC, ARC) with mailauth, through the injected DNS resolver, and
// returns the compact summary the workflow records and the rules read.
import { ApplicationFailure } from '@temporalio/common';
import { authenticate } from 'mailauth';
import { listAuthservId } from '../mail/auth-results.js';
import { failedSummary, summarize, type AuthSummary } from '../mail/authenticity.js';
import { getList } from '../store/lists.js';
import { getMessage } from '../store/messages.js';
import type { InboundMail } from '../workflows/messages.js';
import type { ActivityDeps } from './deps.js';
import { withBudget } from './dns.js';

/** All DNS of one message together: SPF alone may take ten lookups; past this every lookup is a temperror. */
export const DNS_BUDGET_MS = 30_000;

export function createAuthenticityActivities(deps: ActivityDeps) {
  return {
    /** null when this worker has no DNS resolver (verification is not configured). */
    async verifySender(mail: InboundMail): Promise<AuthSummary | null> {
      if (!deps.dns) return null;
      const list = await getList(deps.db, mail.list);
      if (!list) throw ApplicationFailure.nonRetryable(`the list ${mail.list} no longer exists`, 'ListGone');
      const raw = await getMessage(deps.db, mail.sha256);
      const authservId = listAuthservId(list.address);
      const clientIp = mail.clientIp ?? null;
      const helo = mail.helo ?? null;
      try {
        const result = await authenticate(raw, {
          // Without a client address (mail from before ingress recorded it) SPF has nothing to check.
          ...(clientIp ? { ip: clientIp } : {}),
          ...(helo ? { helo } : {}),
          sender: mail.envelopeFrom,
          mta: authservId,
          resolver: withBudget(deps.dns, DNS_BUDGET_MS),
          // BIMI is about logos in mail clients, not about whether the sender may post.
          disableBimi: true,
        });
        return summarize(result, authservId);
      } catch (err) {
        // DNS failures come back as temperror results, not exceptions: what is thrown is about this message
        // (a malformed one mailauth cannot read), and a retry would fail the same way.
        return failedSummary(authservId, (err as Error).message, clientIp, helo);
      }
    },
  };
}
