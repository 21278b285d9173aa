// Where the recorded post history lives: the source tree, since tsc does not copy JSON into dist.
import { fileURLToPath } from 'node:url';

/** A post held, approved by signal and delivered, recorded by the first post workflow (before any patch). */
export const HISTORY_FIXTURE = fileURLToPath(new URL('../../../test/fixtures/histories/post-held-approved.json', import.meta.url));

/** The same, recorded with sender verification, archive, digest and reminders but every step a regular activity. */
export const POST_REGULAR_STEPS_FIXTURE = fileURLToPath(new URL('../../../test/fixtures/histories/post-regular-steps.json', import.meta.url));

/** The same, recorded with the local-steps patch (the post's database steps as local activities). */
export const POST_LOCAL_STEPS_FIXTURE = fileURLToPath(new URL('../../../test/fixtures/histories/post-local-steps.json', import.meta.url));

/** The same, recorded with the dns-first patch: sender verification a regular activity, acceptance local and DNS-free. */
export const POST_DNS_FIRST_FIXTURE = fileURLToPath(new URL('../../../test/fixtures/histories/post-dns-first.json', import.meta.url));

/** A post whose stored message was missing: classification failed for good, the post ended failed, the owners told. */
export const POST_FAILED_FIXTURE = fileURLToPath(new URL('../../../test/fixtures/histories/post-failed.json', import.meta.url));

/** A -request message answered by requestWorkflow before email commands (a help reply only). */
export const REQUEST_HISTORY_FIXTURE = fileURLToPath(new URL('../../../test/fixtures/histories/request-help-before-commands.json', import.meta.url));

/** A -request message with email commands (subscribe in subject and body), recorded with the email-commands patch. */
export const REQUEST_COMMANDS_HISTORY_FIXTURE = fileURLToPath(new URL('../../../test/fixtures/histories/request-commands.json', import.meta.url));
