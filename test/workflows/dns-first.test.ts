// No DNS wait while a list is locked: a post whose DMARC policy lookup at acceptance hangs on DNS does not hold
// the list's row, so another post to the same list is numbered and delivered meanwhile (issue 10, part 3).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createDnsResolver, type DnsResolver } from '../../activities/dns.js';
import { startDnsServer, type DnsServer } from '../helpers/dns-server.js';
import { createList, post, queuedId, subscribe, useStack, waitForState } from '../helpers/stack.js';
import { statusQuery } from '../../workflows/messages.js';
import { headerOf } from '../helpers/digest.js';

/**
 * A resolver in front of the DNS server on loopback that times out the first TXT query for `name` (so the
 * sender verification records a DMARC temperror and acceptance must look the policy up) and holds every later
 * one until the test releases it: acceptance's lookup, hanging for as long as the test wants.
 */
function gatedResolver(name: string) {
  let inner: DnsResolver | undefined;
  let asked = 0;
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  let heldNow!: () => void;
  const held = new Promise<void>((r) => (heldNow = r));
  const resolver: DnsResolver = async (n, rrtype) => {
    if (!inner) throw new Error('the test DNS server is not started');
    if (n.toLowerCase() === name && rrtype === 'TXT') {
      asked += 1;
      if (asked === 1) throw Object.assign(new Error(`DNS query TXT ${n} timed out`), { code: 'ETIMEOUT' });
      heldNow();
      await released;
    }
    return inner(n, rrtype);
  };
  return { resolver, held, release, set: (r: DnsResolver) => (inner = r), asked: () => asked };
}

describe('acceptance looks up DNS before it locks the list', () => {
  let dns: DnsServer;
  const gate = gatedResolver('_dmarc.slow.test');
  before(async () => {
    dns = await startDnsServer({
      'slow.test': { TXT: ['v=spf1 ip4:127.0.0.1 -all'] },
      '_dmarc.slow.test': { TXT: ['v=DMARC1; p=reject'] },
      'fast.test': { TXT: ['v=spf1 ip4:127.0.0.1 -all'] },
      '_dmarc.fast.test': { TXT: ['v=DMARC1; p=none'] },
    });
    gate.set(createDnsResolver({ servers: [dns.address], timeoutMs: 3000 }));
  });
  after(async () => {
    gate.release();
    await dns?.close();
  });
  const env = useStack({ dns: gate.resolver });

  it('a second post to the same list is numbered and delivered while the first waits for its DMARC policy', async () => {
    // munge_from (the default) needs the From domain's policy; the subject prefix shows each post's number.
    const list = await createList(env.stack.db, ['dmarc_mitigate_action=munge_from']);
    await subscribe(env.stack.db, list, ['alice@slow.test', 'bob@fast.test', 'carol@members.example']);

    const first = queuedId((await post(env.stack.smtpPort, { from: 'alice@slow.test', to: list, subject: 'slow DNS' })).response);
    await gate.held; // the first post's policy lookup is waiting on DNS now

    const second = queuedId((await post(env.stack.smtpPort, { from: 'bob@fast.test', to: list, subject: 'fast DNS' })).response);
    const done = await waitForState(env.stack.client, second, ['delivered'], 20_000);
    // The first post is still waiting for its lookup: not numbered, nothing locked on its behalf.
    const waiting = await env.stack.client.workflow.getHandle(first).query(statusQuery);
    assert.equal(waiting.state, 'accepted');
    assert.equal(waiting.seq, null);
    assert.equal(waiting.auth?.dmarc.result, 'temperror', 'the verification had finished: the held query is acceptance\'s lookup');
    assert.equal(done.seq, 1);

    gate.release();
    const later = await waitForState(env.stack.client, first, ['delivered'], 20_000);
    assert.equal(later.seq, 2);
    assert.equal(later.dmarcMitigation, 'munge_from (slow.test p=reject)');
    assert.equal(gate.asked(), 2, 'one query at verification, one at acceptance');
  });

  it('posts accepted at once on one list each get their own number, and each copy carries the number it got', async () => {
    // The number is in the decoration (subject prefix, X-Listflow-Seq, footer), which happens before the list is
    // locked: a post that loses the race for its number is decorated again for the next one.
    const list = await createList(env.stack.db, ['subject_prefix=[n%d] ', 'msg_footer=post {post_number}', 'dmarc_mitigate_action=no_mitigation']);
    await subscribe(env.stack.db, list, ['carol@members.example', ...Array.from({ length: 10 }, (_, i) => `poster${i}@fast.test`)]);
    const ids = await Promise.all(
      Array.from({ length: 10 }, async (_, i) => queuedId((await post(env.stack.smtpPort, { from: `poster${i}@fast.test`, to: list, subject: `race ${i}` })).response)),
    );
    const statuses = await Promise.all(ids.map((id) => waitForState(env.stack.client, id, ['delivered'], 60_000)));
    assert.deepEqual(statuses.map((st) => st.seq).sort((a, b) => (a ?? 0) - (b ?? 0)), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    await env.recorder.waitFor((r) => r.filter((m) => m.to.includes('carol@members.example') && headerOf(m.raw, 'List-Id').includes(list.split('@')[0] ?? '')).length >= 10);
    for (const st of statuses) {
      const copy = env.recorder.received.find((m) => m.to.includes('carol@members.example') && headerOf(m.raw, 'X-Listflow-Seq') === String(st.seq) && headerOf(m.raw, 'List-Id').includes(list.split('@')[0] ?? ''));
      assert.ok(copy, `a copy numbered ${st.seq}`);
      assert.equal(headerOf(copy.raw, 'Subject'), `[n${st.seq}] ${st.subject}`);
      assert.match(copy.raw.toString('utf8'), new RegExp(`post ${st.seq}\\r?\\n?$`));
    }
  });
});
