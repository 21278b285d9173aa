// Every start of a core role makes sure the site's prune workflow runs, and a second start leaves the running one be.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ensurePruneWorkflow } from '../../runtime/prune.js';
import { ListflowKind } from '../../workflows/messages.js';
import { connectDevServer, uniqueName } from '../helpers/temporal.js';

describe('starting the prune workflow', () => {
  let dev: Awaited<ReturnType<typeof connectDevServer>>;
  before(async () => {
    dev = await connectDevServer();
  });
  after(async () => {
    await dev.close();
  });

  it('starts it once: a second start finds the one that runs', async () => {
    // A unique ID: test files share the dev server, and the real one is prune/site.
    const workflowId = `${uniqueName('prune')}/site`;
    const taskQueue = uniqueName('core');
    const first = await ensurePruneWorkflow(dev.client, taskQueue, workflowId);
    const second = await ensurePruneWorkflow(dev.client, taskQueue, workflowId);
    assert.equal(second, first, 'the same run');
    const handle = dev.client.workflow.getHandle(workflowId);
    const d = await handle.describe();
    assert.equal(d.status.name, 'RUNNING');
    assert.equal(d.typedSearchAttributes.get(ListflowKind), 'prune');
    await handle.terminate('test over');
  });
});
