// classifyPost against PostgreSQL: the Approved: password (async scrypt, once, before the chain) accepts the
// right one and not a wrong one, and a stored pattern that RE2 refuses holds the post with the reason.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createPostActivities } from '../../activities/posts.js';
import { parseAssignment } from '../../mail/settings.js';
import { createList, updateSettings } from '../../store/lists.js';
import { putMessage } from '../../store/messages.js';
import type { InboundMail } from '../../workflows/messages.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';

const PASSWORD = 'Corr3ct-Horse';

function post(list: string, headers: string, body: string): Buffer {
  return Buffer.from(`From: Mo <mo@example.net>\r\nTo: ${list}\r\nSubject: board news\r\nMessage-ID: <${Math.random()}@example.net>\r\n${headers}\r\n${body}`);
}

describe('classifyPost', () => {
  let database: TestDatabase;
  let activities: ReturnType<typeof createPostActivities>;
  const classify = async (list: string, raw: Buffer) => {
    const mail: InboundMail = { list, sha256: await putMessage(database.db, raw), envelopeFrom: 'mo@example.net', rcptTo: list, receivedAt: new Date().toISOString() };
    return (await activities.classifyPost(mail)).verdict;
  };

  before(async () => {
    database = await createTestDatabase();
    activities = createPostActivities({ db: database.db, publicUrl: 'http://127.0.0.1:8025', hostname: 'lists.example' });
  });
  after(async () => {
    await database.drop();
  });

  it('accepts a nonmember post with the right Approved: password and holds one with a wrong one', async () => {
    const list = (await createList(database.db, 'board@lists.example')).address;
    await updateSettings(database.db, list, parseAssignment(`moderator_password=${PASSWORD}`));
    const right = await classify(list, post(list, '', `Approved: ${PASSWORD}\r\n\r\nWe meet on Thursdays.\r\n`));
    assert.equal(right.action, 'accept', right.summary);
    assert.equal(right.summary, "the first line of the body carries the list's moderator password");
    const header = await classify(list, post(list, `Approved: ${PASSWORD}\r\n`, 'We meet on Thursdays.\r\n'));
    assert.equal(header.action, 'accept', header.summary);
    const wrong = await classify(list, post(list, 'Approved: Wr0ng-Horse\r\n', 'We meet on Thursdays.\r\n'));
    assert.equal(wrong.action, 'hold', wrong.summary);
    assert.deepEqual(wrong.hits.map((h) => h.rule), ['nonmember-moderation']);
  });

  it('holds a post whose list has a stored header_matches row RE2 refuses, with the reason', async () => {
    const list = (await createList(database.db, 'legacy@lists.example')).address;
    // As a row written before listflow used RE2 (JavaScript's RegExp took backreferences).
    await updateSettings(database.db, list, { nonmember_action: 'accept', header_matches: ['Subject: (board) \\1 -> discard'] });
    const verdict = await classify(list, post(list, '', 'Hello.\r\n'));
    assert.equal(verdict.action, 'hold', 'nonmember_action=accept does not override the failed rule');
    assert.deepEqual(verdict.hits.map((h) => `${h.rule}:${h.action}`), ['header-match:defer', 'nonmember-moderation:accept']);
    assert.match(verdict.summary, /^the rule failed: the stored rule "Subject: \(board\) \\1 -> discard" cannot be used: "\(board\) \\1" is not a valid regular expression: backreferences \(\\1\) are not supported/);
  });
});
