// The workflows a core worker runs.
export { postWorkflow } from './post.js';
export { ownerWorkflow, requestWorkflow, bounceWorkflow } from './inbound.js';
export { confirmWorkflow } from './confirm.js';
export { remindersWorkflow } from './reminders.js';
export { digestWorkflow } from './digest.js';
export { subscriptionWorkflow, memberNoticesWorkflow } from './subscription.js';
