// Repetition, interleaving and load loops. Every figure is measured on all targets in the same
// run, in an order that rotates, so that noise on this shared 2-core machine hits each alike.
import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';

export function median(xs) {
  return percentile(xs, 50);
}

/** Nearest-rank percentile. */
export function percentile(xs, p) {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

/**
 * Runs `fn(target, run)` `runs` times for each target, rotating which target goes first.
 * When `fn` returns `{ value, ops }` and the target has a server `pid`, the server's CPU time
 * per op is recorded too: unlike throughput, it barely moves when other work shares the machine.
 * @template T
 * @param {T[]} targets
 * @param {number} runs
 * @param {(t: T, run: number) => Promise<number | { value: number, ops: number }>} fn
 * @returns {Promise<number[][] & { cpuPerOp: number[][] }>} the figures, per target
 */
export async function interleaved(targets, runs, fn) {
  const out = targets.map(() => []);
  out.cpuPerOp = targets.map(() => []);
  for (let r = 0; r < runs; r++) {
    for (let k = 0; k < targets.length; k++) {
      const i = (k + r) % targets.length;
      const pid = targets[i].pid;
      const before = pid ? await cpuSeconds(pid) : 0;
      const got = await fn(targets[i], r);
      if (typeof got === 'number') {
        out[i].push(got);
      } else {
        out[i].push(got.value);
        if (pid) out.cpuPerOp[i].push(((await cpuSeconds(pid)) - before) / got.ops);
      }
    }
  }
  return out;
}

const CLK_TCK = 100; // getconf CLK_TCK on Linux x86-64 and arm64

/** User + system CPU seconds of a process and all its threads so far (Linux /proc). */
export async function cpuSeconds(pid) {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields 14 and 15 of proc(5), counted from the state (field 3) at index 0
  return (Number(f[11]) + Number(f[12])) / CLK_TCK;
}

/**
 * `concurrency` workers call `op(i)` with a global sequence number until `ms` have passed;
 * returns operations per second. A failed op fails the whole load.
 */
export async function loadFor(ms, concurrency, op) {
  return (await loadCount(ms, concurrency, op)).value;
}

/** loadFor, also returning the number of ops done: `{ value: ops/s, ops }`. */
export async function loadCount(ms, concurrency, op) {
  let seq = 0;
  let done = 0;
  const start = performance.now();
  const deadline = start + ms;
  const worker = async () => {
    while (performance.now() < deadline) {
      await op(seq++);
      done++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { value: done / ((performance.now() - start) / 1000), ops: done };
}

/** Runs `op(i)` for i in [0, count) with `concurrency` in flight. */
export async function pool(count, concurrency, op) {
  let next = 0;
  const worker = async () => {
    while (next < count) await op(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}

export async function timed(fn) {
  const t = performance.now();
  await fn();
  return (performance.now() - t) / 1000;
}
