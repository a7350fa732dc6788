import { spawnSync } from 'node:child_process';

/** A tar of real files of this machine, made by GNU tar (paths relative to `root`). */
export function tarOfPaths(root: string, paths: string[], extra: string[] = []): Buffer {
  const r = spawnSync('tar', ['-C', root, '-cf', '-', '--no-recursion', ...extra, '-T', '-'], {
    input: paths.join('\n'),
    maxBuffer: 2 ** 31,
  });
  if (r.status !== 0) throw new Error(`tar failed: ${r.stderr.toString()}`);
  return r.stdout;
}

export function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 30, ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}
