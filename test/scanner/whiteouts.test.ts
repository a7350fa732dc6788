import { describe, expect, it } from 'vitest';
import { mergeLayers } from '../../src/scanner/layer-merge.js';
import { scanLayer } from '../../src/scanner/layer-reader.js';
import { chunked, gzip, tarOf, type FixtureEntry } from './tar-fixtures.js';

const stanza = (name: string, version: string): string => `Package: ${name}\nStatus: install ok installed\nArchitecture: amd64\nVersion: ${version}\n\n`;
const pkgJson = (name: string, version: string): FixtureEntry => ({ name: `app/node_modules/${name}/package.json`, body: JSON.stringify({ name, version }) });

async function layer(n: number, entries: FixtureEntry[]) {
  return scanLayer(chunked(gzip(tarOf(entries))), { layerDigest: `sha256:${String(n).repeat(64)}` });
}

const ids = (inv: { packages: Array<{ type: string; name: string; version: string; layerDigest: string }> }): string[] =>
  inv.packages.map((p) => `${p.type}:${p.name}@${p.version}#${p.layerDigest.slice(7, 8)}`).sort();

describe('layer merge (image-spec layer.md whiteouts)', () => {
  it('drops packages whose files a higher layer deleted, made opaque or replaced', async () => {
    const base = await layer(1, [
      { name: 'etc/os-release', body: 'ID=debian\nVERSION_ID=12\n' },
      { name: 'var/lib/dpkg/status', body: stanza('openssl', '3.0.11-1~deb12u2') + stanza('curl', '7.88.1-10+deb12u5') },
      pkgJson('left-pad', '1.3.0'),
      pkgJson('lodash', '4.17.20'),
      { name: 'srv/node_modules/express/package.json', body: JSON.stringify({ name: 'express', version: '4.18.2' }) },
      { name: 'opt/py/six-1.16.0.dist-info/METADATA', body: 'Name: six\nVersion: 1.16.0\n' },
    ]);
    const upper = await layer(2, [
      // apt-get upgrade rewrote the status file; curl was removed
      { name: 'var/lib/dpkg/status', body: stanza('openssl', '3.0.13-1~deb12u1') },
      // rm -rf app/node_modules/left-pad
      { name: 'app/node_modules/.wh.left-pad', body: '' },
      // srv/node_modules replaced as a whole: the lower entries are hidden, this layer's stay
      { name: 'srv/node_modules/.wh..wh..opq', body: '' },
      { name: 'srv/node_modules/koa/package.json', body: JSON.stringify({ name: 'koa', version: '2.15.0' }) },
      // lodash upgraded in place
      pkgJson('lodash', '4.17.21'),
      // a whole tree removed
      { name: 'opt/.wh.py', body: '' },
    ]);
    expect(ids(mergeLayers([base]))).toEqual([
      'deb:curl@7.88.1-10+deb12u5#1', 'deb:openssl@3.0.11-1~deb12u2#1',
      'npm:express@4.18.2#1', 'npm:left-pad@1.3.0#1', 'npm:lodash@4.17.20#1', 'pypi:six@1.16.0#1',
    ]);
    const image = mergeLayers([base, upper]);
    expect(ids(image)).toEqual(['deb:openssl@3.0.13-1~deb12u1#2', 'npm:koa@2.15.0#2', 'npm:lodash@4.17.21#2']);
    // the distro of the lower layer still applies to the upper layer's debs
    expect(image.packages.find((p) => p.name === 'openssl')!.purl).toBe('pkg:deb/debian/openssl@3.0.13-1~deb12u1?arch=amd64&distro=debian-12');
    expect(upper.whiteouts).toEqual(['app/node_modules/left-pad', 'opt/py']);
    expect(upper.opaqueDirs).toEqual(['srv/node_modules']);
  });

  it('forgets the distribution and the owned-file lists that a higher layer deleted', async () => {
    const base = await layer(1, [
      { name: 'etc/os-release', body: 'ID=debian\nVERSION_ID=12\n' },
      { name: 'var/lib/dpkg/status', body: stanza('python3-six', '1.16.0-4') },
      { name: 'var/lib/dpkg/info/python3-six.list', body: '/usr/lib/python3/dist-packages/six-1.16.0.dist-info/METADATA\n' },
      { name: 'usr/lib/python3/dist-packages/six-1.16.0.dist-info/METADATA', body: 'Name: six\nVersion: 1.16.0\n' },
    ]);
    expect(ids(mergeLayers([base]))).toEqual(['deb:python3-six@1.16.0-4#1']);
    // dpkg's database deleted wholesale (a "distroless" final stage): the files stay, unowned
    const upper = await layer(2, [
      { name: 'var/lib/.wh.dpkg', body: '' },
      { name: 'etc/.wh.os-release', body: '' },
    ]);
    const image = mergeLayers([base, upper]);
    expect(ids(image)).toEqual(['pypi:six@1.16.0#1']);
    expect(image.distro).toBeUndefined();
  });
});
