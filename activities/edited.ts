// Checks a moderator's edited message before the post workflow accepts it in place of the original.
import { editedMessageProblem } from '../mail/edited.js';
import { isSha256 } from '../mail/ids.js';
import { readFacts } from '../mail/message.js';
import { findMessage } from '../store/messages.js';
import type { ActivityDeps } from './deps.js';

export type EditedCheck = { ok: true; subject: string } | { ok: false; problem: string };

export function createEditedActivities(deps: ActivityDeps) {
  return {
    /**
     * The workflow cannot read the store, and a signal (unlike the CLI) brings a bare hash: this says whether
     * it names a stored message fit to deliver. A bad one is an answer, not a failure, so the post stays held.
     */
    async checkEditedMessage(sha256: string): Promise<EditedCheck> {
      if (!isSha256(sha256)) return { ok: false, problem: `"${sha256}" is not a SHA-256 (64 lower-case hex digits)` };
      const raw = await findMessage(deps.db, sha256);
      if (!raw) return { ok: false, problem: `the edited message ${sha256} is not in the message store` };
      const problem = editedMessageProblem(raw, Number.POSITIVE_INFINITY);
      if (problem) return { ok: false, problem: `the edited message ${sha256} ${problem}` };
      return { ok: true, subject: readFacts(raw).subject };
    },
  };
}
