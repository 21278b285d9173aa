// A listflow host for the benchmark: ingress and workers in a child process, so the parent can sample its memory.
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { loadConfig } from '../runtime/config.js';
import { serve, type Running } from '../runtime/serve.js';

async function main(): Promise<void> {
  const config = loadConfig();
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const running: Running = await serve(config, (line) => console.error(`bench host: ${line}`));
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    running.stop().then(
      () => process.exit(0),
      (err: Error) => {
        console.error(`bench host: ${err.message}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  // The parent went away without stopping us: do not linger as an orphan.
  process.on('disconnect', stop);
  process.send?.({ ready: true, smtp: running.smtp });
  // BENCH_MEMLOG=1 prints where the host's memory is every 5 s (V8 heap, buffers, the rest).
  if (process.env.BENCH_MEMLOG) {
    const mb = (n: number) => `${Math.round(n / 2 ** 20)}`;
    setInterval(() => {
      const m = process.memoryUsage();
      console.error(`bench host memory MB: rss ${mb(m.rss)} heapUsed ${mb(m.heapUsed)} heapTotal ${mb(m.heapTotal)} external ${mb(m.external)} arrayBuffers ${mb(m.arrayBuffers)}`);
    }, 5000).unref();
  }
  running.done.catch((err: Error) => {
    console.error(`bench host: a worker failed: ${err.message}`);
    stop();
  });
}

main().catch((err: Error) => {
  console.error(`bench host: cannot start: ${err.stack ?? err.message}`);
  process.exit(1);
});
