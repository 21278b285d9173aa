// Every activity, made from one factory that receives its dependencies.
import type { ActivityDeps } from './deps.js';
import { createArchiveActivities } from './archive.js';
import { createBounceNoticeActivities } from './bounce-notify.js';
import { createBounceActivities } from './bounces.js';
import { createAuthenticityActivities } from './authenticity.js';
import { createCommandActivities } from './commands.js';
import { createConfirmActivities } from './confirm.js';
import { createDeliveryActivities } from './deliver.js';
import { createDigestCoreActivities, createDigestOutboundActivities } from './digest.js';
import { createEditedActivities } from './edited.js';
import { withPermanentFailures } from './failures.js';
import { createNoticeActivities } from './notify.js';
import { createPostActivities } from './posts.js';
import { createPruneActivities } from './prune.js';
import { createSubscriptionNoticeActivities } from './subscription-notices.js';
import { createSubscriptionActivities } from './subscriptions.js';

/**
 * Activities that need the database (and DNS: verifySender, lookupDmarcPolicy): they run on the core task queue.
 * Each turns an error no retry can heal into a non-retryable failure (activities/failures.ts).
 */
export function createCoreActivities(deps: ActivityDeps) {
  return withPermanentFailures({
    ...createPostActivities(deps),
    ...createEditedActivities(deps),
    ...createAuthenticityActivities(deps),
    ...createConfirmActivities(deps),
    ...createArchiveActivities(deps),
    ...createDigestCoreActivities(deps),
    ...createSubscriptionActivities(deps),
    ...createCommandActivities(deps),
    ...createBounceActivities(deps),
    ...createPruneActivities(deps),
  });
}

/** Activities that talk SMTP: they run on the delivery task queue, where the smarthost is reachable. */
export function createOutboundActivities(deps: ActivityDeps, options: { connections: number }) {
  return withPermanentFailures({
    ...createDeliveryActivities(deps, options),
    ...createNoticeActivities(deps),
    ...createDigestOutboundActivities(deps),
    ...createSubscriptionNoticeActivities(deps),
    ...createBounceNoticeActivities(deps),
  });
}

export type CoreActivities = ReturnType<typeof createCoreActivities>;
export type OutboundActivities = ReturnType<typeof createOutboundActivities>;
