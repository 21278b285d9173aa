// Where the recorded post history lives: the source tree, since tsc does not copy JSON into dist.
import { fileURLToPath } from 'node:url';

export const HISTORY_FIXTURE = fileURLToPath(new URL('../../../test/fixtures/histories/post-held-approved.json', import.meta.url));

/** A -request message answered by requestWorkflow before email commands (a help reply only). */
export const REQUEST_HISTORY_FIXTURE = fileURLToPath(new URL('../../../test/fixtures/histories/request-help-before-commands.json', import.meta.url));

/** A -request message with email commands (subscribe in subject and body), recorded with the email-commands patch. */
export const REQUEST_COMMANDS_HISTORY_FIXTURE = fileURLToPath(new URL('../../../test/fixtures/histories/request-commands.json', import.meta.url));
