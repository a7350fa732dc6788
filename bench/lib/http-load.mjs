// HTTP load from C tools (Debian's wrk and ab): a Node client would compete for the CPU that
// the server needs on a 2-core machine and cap the figure; their C event loops cost far less.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * @param {{ url: string, method: string, headers: Record<string,string>, connections: number, threads?: number, seconds: number }} o
 * @returns {Promise<{ rps: number, requests: number, p50ms: number, p99ms: number }>}
 */
export async function wrk(o) {
  const dir = await mkdtemp(join(tmpdir(), 'berth-wrk-'));
  try {
    const script = join(dir, 'req.lua');
    const lines = [`wrk.method = ${luaString(o.method)}`];
    for (const [k, v] of Object.entries(o.headers)) lines.push(`wrk.headers[${luaString(k)}] = ${luaString(v)}`);
    lines.push(`done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("WRK_JSON {\\"requests\\":%d,\\"us\\":%d,\\"connect\\":%d,\\"read\\":%d,\\"write\\":%d,\\"status\\":%d,\\"timeout\\":%d,\\"p50\\":%d,\\"p99\\":%d}\\n",
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout, latency:percentile(50), latency:percentile(99)))
end`);
    await writeFile(script, `${lines.join('\n')}\n`);
    const args = ['-t', String(o.threads ?? 1), '-c', String(o.connections), '-d', `${o.seconds}s`, '--timeout', '5s', '-s', script, o.url];
    const { stdout } = await run('wrk', args, { timeout: (o.seconds + 30) * 1000 });
    const line = stdout.split('\n').find((l) => l.startsWith('WRK_JSON '));
    if (!line) throw new Error(`wrk printed no summary:\n${stdout}`);
    const s = JSON.parse(line.slice('WRK_JSON '.length));
    const errors = s.connect + s.read + s.write + s.status + s.timeout;
    if (errors > 0 || s.requests === 0) throw new Error(`wrk ${o.method} ${o.url}: ${s.requests} requests, errors ${JSON.stringify(s)}`);
    return { rps: s.requests / (s.us / 1e6), requests: s.requests, p50ms: s.p50 / 1000, p99ms: s.p99 / 1000 };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function luaString(s) {
  return JSON.stringify(String(s));
}

/**
 * HTTP load with ab (apache2-utils), for HEAD: wrk 4.1 waits for the body that a HEAD reply's
 * Content-Length announces and completes no request at all. ab speaks HTTP/1.0 keep-alive.
 * @param {{ url: string, method: 'HEAD', headers: Record<string,string>, connections: number, seconds: number }} o
 */
export async function ab(o) {
  if (o.method !== 'HEAD') throw new Error('ab() is for HEAD; use wrk() otherwise');
  const args = ['-q', '-i', '-k', '-c', String(o.connections), '-t', String(o.seconds), '-n', '100000000'];
  for (const [k, v] of Object.entries(o.headers)) args.push('-H', `${k}: ${v}`);
  args.push(o.url);
  const { stdout } = await run('ab', args, { timeout: (o.seconds + 30) * 1000, maxBuffer: 1 << 20 });
  const num = (label) => {
    const m = new RegExp(`^${label}:\\s+([\\d.]+)`, 'm').exec(stdout);
    return m ? Number(m[1]) : 0;
  };
  const requests = num('Complete requests');
  const failed = num('Failed requests') + num('Non-2xx responses');
  const seconds = num('Time taken for tests');
  if (failed > 0 || requests === 0) throw new Error(`ab HEAD ${o.url}: ${requests} requests, ${failed} failed:\n${stdout}`);
  const pct = (p) => {
    const m = new RegExp(`^\\s+${p}%\\s+(\\d+)`, 'm').exec(stdout);
    return m ? Number(m[1]) : NaN;
  };
  return { rps: requests / seconds, requests, p50ms: pct(50), p99ms: pct(99) };
}
