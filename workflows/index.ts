// The workflows a core worker runs.
export { postWorkflow } from './post.js';
export { ownerWorkflow, requestWorkflow } from './inbound.js';
export { bounceWorkflow } from './bounce.js';
export { bouncerWorkflow } from './bouncer.js';
export { policyNoticeWorkflow } from './bounce-policy.js';
export { confirmWorkflow } from './confirm.js';
export { remindersWorkflow } from './reminders.js';
export { digestWorkflow } from './digest.js';
export { subscriptionWorkflow, memberNoticesWorkflow } from './subscription.js';
export { pruneWorkflow } from './prune.js';
