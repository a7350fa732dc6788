// node-semver, the implementation npm uses (a dependency of this project's toolchain):
// `valid` prints validity, `compare` orders `a<TAB>b` pairs ("!" when either is invalid).
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';
const semver = createRequire(import.meta.url)('semver');
const mode = process.argv[2];
const parse = (v) => { try { return new semver.SemVer(v); } catch { return null; } };
for await (const line of createInterface({ input: process.stdin })) {
  if (mode === 'valid') { process.stdout.write(`${line}\t${parse(line) ? 'valid' : 'invalid'}\n`); continue; }
  const [a, b] = line.split('\t');
  const x = parse(a), y = parse(b);
  const op = !x || !y ? '!' : ['<', '=', '>'][semver.compare(x, y) + 1];
  process.stdout.write(`${a}\t${op}\t${b}\n`);
}
