// `npm run tools`: resolves (installing if need be) the Temporal CLI and the time-skipping test server.
import { binaryVersion, resolveBinary, TEMPORAL_CLI, TEMPORAL_TEST_SERVER } from './temporal-binary.js';

let failed = false;
for (const spec of [TEMPORAL_CLI, TEMPORAL_TEST_SERVER]) {
  const found = resolveBinary(spec, (line) => console.log(line));
  if (found.kind === 'path') {
    const version = spec === TEMPORAL_CLI ? ` (${binaryVersion(found.path)})` : '';
    console.log(`${spec.command}: ${found.path} from ${found.source}${version}`);
  } else {
    console.log(`${spec.command}: not found; falling back to ${found.source}`);
    failed = true;
  }
}
process.exit(failed ? 1 : 0);
