#!/usr/bin/env node
// `listflow`, the command operators type: parse the command line, run one command, exit with its code.
import { buildProgram } from './program.js';

// `listflow members list x | head` closes the pipe early; that is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

let exitCode = 0;
await buildProgram((code) => (exitCode = code)).parseAsync(process.argv);
process.exitCode = exitCode;
// Every connection is closed by now; should a library still hold a handle open, do not let it keep the shell waiting.
setTimeout(() => process.exit(exitCode), 2000).unref();
