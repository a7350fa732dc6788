import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mergeLayers } from '../../src/scanner/layer-merge.js';
import { scanLayer } from '../../src/scanner/layer-reader.js';
import { chunked, DIGEST, tarOf, zstd } from './tar-fixtures.js';
import { run, tarOfPaths } from './real-files.js';

let dir: string;
let env: NodeJS.ProcessEnv;

/** `go version -m`'s view of a binary: the oracle the analyzer is compared with. */
function goVersionM(bin: string): { go: string; lines: string[][] } {
  const out = run('go', ['version', '-m', bin], { env }).trim().split('\n');
  return { go: out[0]!.split(': ')[1]!, lines: out.slice(1).map((l) => l.trim().split('\t')) };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'berth-go-'));
  env = { ...process.env, GOPATH: join(dir, 'gopath'), GOCACHE: join(dir, 'cache'), GOPROXY: 'off', GOFLAGS: '-mod=vendor', GO111MODULE: 'on' };
  // a library module, and a program that requires it through a replace to the local folder
  mkdirSync(join(dir, 'greet'));
  writeFileSync(join(dir, 'greet/go.mod'), 'module example.com/greet\n\ngo 1.19\n');
  writeFileSync(join(dir, 'greet/greet.go'), 'package greet\n\nfunc Hello() string { return "hello" }\n');
  mkdirSync(join(dir, 'app'));
  writeFileSync(join(dir, 'app/go.mod'), 'module example.com/app\n\ngo 1.19\n\nrequire example.com/greet v1.2.3\n\nreplace example.com/greet => ../greet\n');
  writeFileSync(join(dir, 'app/main.go'), 'package main\n\nimport (\n\t"fmt"\n\t"example.com/greet"\n)\n\nfunc main() { fmt.Println(greet.Hello()) }\n');
  run('go', ['mod', 'vendor'], { cwd: join(dir, 'app'), env });
  run('go', ['build', '-o', join(dir, 'bin/app'), '.'], { cwd: join(dir, 'app'), env });
}, 300_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('Go binary analyzer', () => {
  it('reads the module build info of a binary built by Debian Go, as go version -m does', async () => {
    const bin = join(dir, 'bin/app');
    const oracle = goVersionM(bin);
    const layer = tarOfPaths(dir, ['bin/app'], ['--transform', 's,^bin,usr/local/bin,']);
    const inv = await scanLayer(chunked(zstd(layer)), { layerDigest: DIGEST });
    expect(inv.warnings).toEqual([]);
    const mod = oracle.lines.find((l) => l[0] === 'mod')!;
    const dep = oracle.lines.find((l) => l[0] === 'dep')!;
    const repl = oracle.lines.find((l) => l[0] === '=>')!;
    expect(dep[1]).toBe('example.com/greet');
    expect(repl[1]).toBe('../greet');
    const got = inv.packages.map((p) => `${p.role} ${p.name} ${p.version}`).sort();
    expect(got).toEqual([
      `dep example.com/greet ${dep[2]}`,
      `dep stdlib ${oracle.go.replace(/^go/, '')}`,
      `main ${mod[1]} ${mod[2]}`,
    ].sort());
    const greet = inv.packages.find((p) => p.name === 'example.com/greet')!;
    expect(greet).toMatchObject({ purl: `pkg:golang/example.com/greet@${dep[2]}`, path: 'usr/local/bin/app', goVersion: oracle.go, type: 'golang' });
  });

  it('finds the build info past the magic string held as data by programs that import debug/buildinfo (the go command)', async () => {
    const goBin = '/usr/lib/go-1.19/bin/go';
    const oracle = goVersionM(goBin);
    const layer = tarOfPaths('/', [goBin.slice(1)]);
    const inv = await scanLayer(chunked(layer), { layerDigest: DIGEST });
    expect(inv.warnings).toEqual([]);
    expect(inv.packages.find((p) => p.name === 'stdlib')?.version).toBe(oracle.go.replace(/^go/, ''));
  });

  it('leaves binaries that a Debian package installed to the deb (skopeo from golang-github-containers-skopeo)', async () => {
    const owner = run('dpkg', ['-S', '/usr/bin/skopeo']).split(':')[0]!;
    const list = `var/lib/dpkg/info/${owner}.list`;
    const bins = tarOfPaths('/', ['usr/bin/skopeo']);
    const db = tarOfPaths('/', ['var/lib/dpkg/status', list]);
    const l1 = await scanLayer(chunked(db), { layerDigest: 'sha256:' + '1'.repeat(64) });
    const l2 = await scanLayer(chunked(bins), { layerDigest: 'sha256:' + '2'.repeat(64) });
    expect(l2.packages.some((p) => p.type === 'golang' && p.name === 'stdlib')).toBe(true);
    const image = mergeLayers([l1, l2]);
    expect(image.packages.filter((p) => p.type === 'golang')).toEqual([]);
    expect(image.packages.some((p) => p.type === 'deb' && p.name === owner)).toBe(true);
  });

  it('ignores a fake ELF and a Go header with garbage after it, with a warning for the latter', async () => {
    const fake = Buffer.alloc(8192);
    Buffer.from([0x7f, 0x45, 0x4c, 0x46]).copy(fake);
    const garbage = Buffer.alloc(8192, 0x41);
    Buffer.from([0x7f, 0x45, 0x4c, 0x46]).copy(garbage);
    const magic = Buffer.from('\xff Go buildinf:', 'latin1');
    magic.copy(garbage, 4096);
    garbage[4096 + 15] = 2; // inline strings
    garbage[4096 + 32] = 0xff; // a varint that runs past the file
    const inv = await scanLayer(chunked(tarOf([
      { name: 'bin/fake', body: fake, mode: 0o755 },
      { name: 'bin/garbage', body: garbage, mode: 0o755 },
    ])), { layerDigest: DIGEST });
    expect(inv.packages).toEqual([]);
    expect(inv.warnings.map((w) => `${w.code} ${w.path}`)).toEqual(['malformed bin/garbage']);
  });
});
