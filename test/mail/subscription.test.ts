// Subscription logic without I/O: which steps each policy takes, and the texts of confirmation, approval,
// welcome and goodbye messages (hostile names flattened, templates rendered).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultSettings, parseAssignments } from '../../mail/settings.js';
import { approvalNeeded, confirmationNeeded, confirmUrl, goodbyeMessage, welcomeMessage } from '../../mail/subscription-notices.js';
import { requestSteps, startedDetail } from '../../mail/subscription-policy.js';

const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f]/;
const settings = (...assignments: string[]) => {
  const { changes, problems } = parseAssignments(assignments);
  assert.deepEqual(problems, []);
  return { ...defaultSettings(), ...changes };
};

describe('subscription policy', () => {
  it('takes the steps each policy names, for the address itself, a third party, and pre-confirmed or pre-approved requests', () => {
    const rows: [string, Partial<Parameters<typeof requestSteps>[1]>, boolean, boolean][] = [
      ['open', {}, false, false],
      ['open', { requestedBy: 'someone@else.example' }, true, false],
      ['confirm', {}, true, false],
      ['confirm', { preConfirmed: true }, false, false],
      ['moderate', {}, false, true],
      ['moderate', { preApproved: true }, false, false],
      ['moderate', { requestedBy: 'web' }, true, true],
      ['confirm_then_moderate', {}, true, true],
      ['confirm_then_moderate', { preConfirmed: true, preApproved: true }, false, false],
    ];
    for (const [policy, extra, confirmation, approval] of rows) {
      const r = { action: 'subscribe' as const, address: 'Ann@Example.com', requestedBy: 'ann@example.com', ...extra };
      const steps = requestSteps(settings(`subscription_policy=${policy}`), r);
      assert.deepEqual(steps, { policy, confirmation, approval }, `${policy} ${JSON.stringify(extra)}`);
    }
    // Unsubscription follows its own policy.
    const leave = requestSteps(settings('subscription_policy=open', 'unsubscription_policy=moderate'), { action: 'unsubscribe', address: 'a@example.com', requestedBy: 'a@example.com' });
    assert.deepEqual(leave, { policy: 'moderate', confirmation: false, approval: true });
    assert.deepEqual(requestSteps(defaultSettings(), { action: 'subscribe', address: 'a@example.com', requestedBy: 'a@example.com' }).policy, 'confirm');
  });

  it('tells a requester the same thing whoever the address is', () => {
    assert.equal(
      startedDetail('dev@lists.example', 'a@example.com', 'subscribe', { confirmation: true, approval: true }),
      'a confirmation request has been sent to a@example.com; the subscription takes effect once it is confirmed',
    );
    assert.match(startedDetail('dev@lists.example', 'a@example.com', 'unsubscribe', { confirmation: false, approval: true }), /awaits a moderator's approval/);
  });
});

describe('subscription messages', () => {
  const confirm = { token: 'abcdefgh234567', address: 'dev-confirm+abcdefgh234567@lists.example', url: confirmUrl('https://lists.example/', 'Dev@Lists.Example', 'abcdefgh234567') };

  it('the confirmation names all three ways to confirm and who asked, with hostile text flattened', () => {
    assert.equal(confirm.url, 'https://lists.example/c/dev%40lists.example/abcdefgh234567');
    const n = confirmationNeeded({
      list: 'dev@lists.example',
      displayName: 'Dev\r\nBcc: victim@example.com',
      address: 'ann@example.com',
      action: 'subscribe',
      requestedBy: 'eve@evil.example\r\nX-Evil: 1',
      via: 'mail',
      confirm,
      expiresAt: '2026-12-02T16:00:00.000Z',
      days: 3,
      thenModerated: true,
    });
    assert.doesNotMatch(n.subject, /[\r\n]/);
    assert.doesNotMatch(n.text, CONTROL);
    assert.doesNotMatch(n.text, /^(Bcc|X-Evil):/m);
    assert.ok(n.text.includes(`      ${confirm.address}\n`));
    assert.ok(n.text.includes(`      ${confirm.url}\n`));
    assert.match(n.text, /send a message to dev-request@lists\.example with this line:\n {6}confirm abcdefgh234567\n/);
    assert.match(n.text, /request from eve@evil\.example X-Evil: 1 by mail to subscribe/);
    assert.match(n.text, /a list moderator will review/);
    assert.match(n.text, /expires in 3 day\(s\)/);
  });

  it('the moderators\' notice says how to decide with listflow and temporal', () => {
    const n = approvalNeeded({ list: 'dev@lists.example', address: 'ann@example.com', action: 'unsubscribe', requestedBy: 'ann@example.com', via: 'web', workflowId: 'subscription/dev@lists.example/ann@example.com', expiresAt: 'x', days: 3 });
    assert.equal(n.subject, 'dev@lists.example: unsubscription request from ann@example.com awaits approval');
    assert.match(n.text, /listflow approve subscription\/dev@lists\.example\/ann@example\.com/);
    assert.match(n.text, /--name moderate --input '\{"action":"approve"\}'/);
  });

  const member = { list: 'dev@lists.example', displayName: 'Dev', address: 'ann@example.com', unsubscribeUrl: 'https://lists.example/u/dev%40lists.example/tok', publicUrl: 'https://lists.example' };

  it('the standard welcome says how to post and the three ways to leave; the goodbye how to come back', () => {
    const w = welcomeMessage({ ...member, settings: settings('description=All about dev') });
    assert.equal(w.subject, 'Welcome to the "Dev" mailing list');
    assert.match(w.text, /^Welcome to the Dev mailing list: All about dev\./);
    assert.match(w.text, /To post to the list, write to dev@lists\.example\./);
    assert.match(w.text, /To leave the list:\n {2}- open https:\/\/lists\.example\/u\/dev%40lists\.example\/tok\n {2}- or send any message to dev-leave@lists\.example\n {2}- or send "unsubscribe" to dev-request@lists\.example/);
    const g = goodbyeMessage({ ...member, unsubscribeUrl: null, settings: defaultSettings() });
    assert.match(g.text, /ann@example\.com has been unsubscribed from the Dev mailing list/);
    assert.match(g.text, /send any message to dev-join@lists\.example/);
  });

  it('welcome_message and goodbye_message are templates; the way to leave is always added to a welcome', () => {
    const s = settings('welcome_message=Hello {member}!\\nRules: be kind on {list}.\\nLeave: {unsubscribe_url}', 'goodbye_message=Bye {member} from {display_name}.');
    const w = welcomeMessage({ ...member, settings: s });
    assert.match(w.text, /^Hello ann@example\.com!\nRules: be kind on dev@lists\.example\.\nLeave: https:\/\/lists\.example\/u\/dev%40lists\.example\/tok\n\n-- \nTo leave the list:/);
    const g = goodbyeMessage({ ...member, unsubscribeUrl: null, settings: s });
    assert.match(g.text, /^Bye ann@example\.com from Dev\.\n\n-- \nTo subscribe again/);
  });
});
