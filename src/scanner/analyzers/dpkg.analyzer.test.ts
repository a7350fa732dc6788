import { describe, expect, it } from 'vitest';
import { scanLayer } from '../layer-reader.js';
import { tarOf } from '../../../test/scanner/tar-fixtures.js';

async function* one(b: Buffer): AsyncGenerator<Buffer> {
  yield b;
}

const stanza = (name: string, status: string | undefined, extra = ''): string =>
  `Package: ${name}\n${status ? `Status: ${status}\n` : ''}Architecture: amd64\nVersion: 1.0-1\n${extra}Description: x\n more text: with a colon\n .\n end\n\n`;

describe('dpkg analyzer', () => {
  it('keeps installed packages only (held ones included) and reads Source with and without a version', async () => {
    const status = [
      stanza('a', 'install ok installed', 'Source: a-src\n'),
      stanza('b', 'hold ok installed', 'Source: b-src (2.0-3)\n'),
      stanza('c', 'deinstall ok config-files'),
      stanza('d', 'install ok half-installed'),
      stanza('e', 'purge ok not-installed'),
      stanza('f', 'install reinstreq installed'),
    ].join('');
    const inv = await scanLayer(one(tarOf([{ name: 'var/lib/dpkg/status', body: status }])), { layerDigest: 'sha256:' + '0'.repeat(64) });
    expect(inv.packages.map((p) => [p.name, p.source])).toEqual([
      ['a', { name: 'a-src', version: '1.0-1' }],
      ['b', { name: 'b-src', version: '2.0-3' }],
    ]);
  });

  it('reads distroless status.d files, which may have no Status, and not their md5sums', async () => {
    const inv = await scanLayer(one(tarOf([
      { name: 'var/lib/dpkg/status.d/base-files', body: stanza('base-files', undefined) },
      { name: 'var/lib/dpkg/status.d/base-files.md5sums', body: 'd41d8cd98f00b204e9800998ecf8427e  etc/issue\n' },
      { name: 'var/lib/dpkg/status.d/libssl3', body: stanza('libssl3', 'install ok installed', 'Source: openssl (3.0.11-1~deb12u2)\n') },
    ])), { layerDigest: 'sha256:' + '0'.repeat(64) });
    expect(inv.warnings).toEqual([]);
    expect(inv.packages.map((p) => `${p.name} ${p.path} ${p.source?.name}@${p.source?.version}`)).toEqual([
      'base-files var/lib/dpkg/status.d/base-files base-files@1.0-1',
      'libssl3 var/lib/dpkg/status.d/libssl3 openssl@3.0.11-1~deb12u2',
    ]);
  });
});
