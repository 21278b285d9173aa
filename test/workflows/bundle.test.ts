// The workflow bundle builds: a Node built-in, pg, nodemailer or a value import of activities in workflow code fails CI here.
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { bundleWorkflowCode } from '@temporalio/worker';
import { WORKFLOWS_PATH } from '../../workers/index.js';

/** Keeps webpack's report for the assertion message instead of printing it. */
function collectingLogger(lines: string[]) {
  const keep = (message: string) => void lines.push(message);
  return { log: keep, trace: keep, debug: keep, info: keep, warn: keep, error: keep };
}

describe('the workflow bundle', () => {
  it("bundles listflow's workflows with no disallowed module", async () => {
    const lines: string[] = [];
    const bundle = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: collectingLogger(lines) });
    assert.ok(bundle.code.length > 0);
    for (const name of ['postWorkflow', 'ownerWorkflow', 'requestWorkflow', 'bounceWorkflow', 'pruneWorkflow']) {
      assert.ok(bundle.code.includes(name), `the bundle holds ${name}`);
    }
  });

  it('refuses workflow code that value-imports the activities', async () => {
    const workflowsPath = fileURLToPath(new URL('../fixtures/workflows/value-imports-activities.js', import.meta.url));
    const lines: string[] = [];
    await assert.rejects(bundleWorkflowCode({ workflowsPath, logger: collectingLogger(lines) }), (err: Error) => {
      // Webpack stops at the node: scheme, or the SDK names the disallowed modules; either way it is the built-ins.
      const report = [err.message, ...lines].join('\n');
      assert.match(report, /disallowed modules|node:(crypto|fs|net|url)/);
      return true;
    });
  });
});
