// One listflow per data dir: a second start on the same embedded state says so instead of corrupting it.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { alive } from './processes.js';

/** Takes `<dataDir>/listflow.pid`; throws if a live process holds it. Returns the release function. */
export function lockDataDir(dataDir: string): () => void {
  mkdirSync(dataDir, { recursive: true });
  const file = path.join(dataDir, 'listflow.pid');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, `${process.pid}\n`, { flag: 'wx' });
      return () => {
        try {
          if (readFileSync(file, 'utf8').trim() === String(process.pid)) rmSync(file);
        } catch {
          // already gone
        }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number(readFileSync(file, 'utf8').trim());
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && alive(holder)) {
        throw new Error(`listflow is already running with the data dir ${dataDir} (pid ${holder}); stop it first or set LISTFLOW_DATA_DIR`);
      }
      rmSync(file, { force: true }); // left by a process that died
    }
  }
  throw new Error(`cannot take the lock ${file}`);
}
