import { describe, expect, it } from 'vitest';
import { tarOf } from '../../../test/scanner/tar-fixtures.js';
import { scanLayer } from '../layer-reader.js';
import { parseModinfo } from './go-buildinfo.js';

// cmd/go's modinfo sentinels (src/cmd/go/internal/modload/build.go)
const START = Buffer.from('3077af0c9274080241e1c107e6d618e6', 'hex').toString('latin1');
const END = Buffer.from('f932433186182072008242104116d8f2', 'hex').toString('latin1');

describe('Go module info', () => {
  it('reads path, main module, deps and their replacements inside the sentinels', () => {
    const text = [
      'path\texample.com/cmd/tool',
      'mod\texample.com\tv1.4.0\th1:abc=',
      'dep\tgolang.org/x/text\tv0.3.7\th1:olpwvP2KacW1ZWvsR7uQhoyTYvKAupfQrRGBFM352Gk=',
      'dep\tgithub.com/old/lib\tv1.0.0',
      '=>\tgithub.com/fork/lib\tv1.0.1\th1:def=',
      'dep\texample.com/local\tv0.0.0-00010101000000-000000000000',
      '=>\t../local\t',
      'build\t-compiler=gc',
      '',
    ].join('\n');
    const info = parseModinfo('go1.22.3', START + text + END);
    expect(info.path).toBe('example.com/cmd/tool');
    expect(info.main).toEqual({ path: 'example.com', version: 'v1.4.0' });
    expect(info.deps).toEqual([
      { path: 'golang.org/x/text', version: 'v0.3.7' },
      { path: 'github.com/old/lib', version: 'v1.0.0', replace: { path: 'github.com/fork/lib', version: 'v1.0.1' } },
      { path: 'example.com/local', version: 'v0.0.0-00010101000000-000000000000', replace: { path: '../local', version: '' } },
    ]);
  });
});

describe('Go binary packages', () => {
  it('reports a module replaced by another module version under the replacement, a local replacement under the original', async () => {
    const uvarint = (n: number): Buffer => {
      const out: number[] = [];
      for (; n >= 0x80; n = Math.floor(n / 128)) out.push((n & 0x7f) | 0x80);
      out.push(n);
      return Buffer.from(out);
    };
    const mod = START + 'path\tex/cmd\nmod\tex\t(devel)\t\ndep\tgithub.com/old/lib\tv1.0.0\n=>\tgithub.com/fork/lib\tv1.0.1\th1:x=\ndep\tex/local\tv0.1.0\n=>\t../local\t\n' + END;
    const header = Buffer.alloc(32);
    header.write('\xff Go buildinf:', 0, 'latin1');
    header[14] = 8;
    header[15] = 2;
    const info = Buffer.concat([header, uvarint(8), Buffer.from('go1.22.3'), uvarint(Buffer.byteLength(mod, 'latin1')), Buffer.from(mod, 'latin1')]);
    const elf = Buffer.alloc(8192 + info.length + 100);
    elf.write('\x7fELF', 0, 'latin1');
    info.copy(elf, 8192);
    const inv = await scanLayer((async function* () {
      yield tarOf([{ name: 'bin/tool', body: elf, mode: 0o755 }]);
    })(), { layerDigest: 'sha256:' + '0'.repeat(64) });
    expect(inv.packages.map((p) => p.purl)).toEqual([
      'pkg:golang/stdlib@1.22.3',
      'pkg:golang/ex',
      'pkg:golang/github.com/fork/lib@v1.0.1',
      'pkg:golang/ex/local@v0.1.0',
    ]);
  });
});
