// The approval is removed before members see a post; everything else stays byte-identical.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stripApproval } from '../../mail/approval.js';
import { readFacts, splitHeaderBlock } from '../../mail/message.js';
import { runChain } from '../../mail/chain.js';
import { fixture } from '../helpers/fixtures.js';
import { inputFor, PASSWORD } from '../helpers/rule-input.js';

describe('stripApproval', () => {
  it('leaves a post without approval byte-identical', () => {
    for (const f of ['rules/member-post.eml', 'rules/spam-flagged.eml', 'mail/member-post.eml', 'rules/malformed-headers.eml']) {
      const raw = fixture(f);
      assert.ok(stripApproval(raw).equals(raw), f);
    }
  });

  it('removes the Approved: header and keeps the body bytes', () => {
    const raw = fixture('rules/approved-header.eml');
    const out = stripApproval(raw);
    assert.doesNotMatch(out.toString(), /Approved|s3cret/i);
    assert.ok(splitHeaderBlock(out).body.equals(splitHeaderBlock(raw).body));
    assert.match(out.toString(), /^Subject: Meeting notes\r$/m);
  });

  it('removes the first-line pseudo-header from the text part and the password from the HTML part; the rest is unchanged', () => {
    const raw = fixture('rules/approved-body.eml');
    const out = stripApproval(raw);
    const text = out.toString();
    assert.doesNotMatch(text, /s3cret/);
    assert.doesNotMatch(text, /Approved:/);
    assert.ok(splitHeaderBlock(out).header.equals(splitHeaderBlock(raw).header), 'the header block is untouched');
    // The preamble and the boundaries are the same bytes.
    assert.ok(text.includes('This is a multi-part message in MIME format.\r\n\r\n--b1_alt\r\n'));
    assert.match(text, /--b1_alt--/);
    const facts = readFacts(out);
    assert.equal(facts.textLines[0], 'The board met on Thursday and decided the following – please read');
    assert.match(text, /<p>The board met on Thursday/);
  });

  it('re-encodes a base64 text part without the line', () => {
    const out = stripApproval(fixture('rules/approved-base64.eml'));
    assert.deepEqual(readFacts(out).textLines, ['Sent from a mail program that encodes everything.']);
  });

  it('is idempotent', () => {
    const once = stripApproval(fixture('rules/approved-body.eml'));
    assert.ok(stripApproval(once).equals(once));
  });

  it('whatever the approved rule accepts, the removal takes out (no password reaches members)', () => {
    const head = 'From: mo@example.net\r\nTo: dev@lists.example.org\r\nSubject: x\r\n';
    const cases: [string, boolean][] = [
      [`${head}\r\n\u0000\r\nApproved: ${PASSWORD}\r\nbody\r\n`, true],
      [`${head}\r\n\r\n   \t\r\napprove:${PASSWORD}   \r\nbody\r\n`, true],
      [`${head}\r\nApproved: ${PASSWORD}\rHello\r\n`, false],
      [`${head}Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nX-Approved: ${PASSWORD}=\r\n\r\nGr=FC=DFe\r\n`, true],
      [`${head}Content-Type: multipart/mixed; boundary=zz\r\n\r\n--zz\r\nContent-Type: text/plain\r\n\r\nApproved: ${PASSWORD}\r\n--zz--\r\n`, true],
      [`${head}Content-Type: multipart/mixed; boundary=zz\r\n\r\n--zz\r\nContent-Type: text/plain; name=a.txt\r\nContent-Disposition: attachment\r\n\r\nApproved: ${PASSWORD}\r\n--zz--\r\n`, false],
    ];
    for (const [text, approved] of cases) {
      const raw = Buffer.from(text, 'latin1');
      const v = runChain(inputFor(raw, { member: 'default' }));
      assert.equal(v.hits[0]?.rule === 'approved', approved, JSON.stringify(text));
      if (approved) assert.doesNotMatch(stripApproval(raw).toString('latin1'), new RegExp(PASSWORD), JSON.stringify(text));
    }
  });
});
