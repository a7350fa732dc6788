import { describe, expect, it } from 'vitest';
import { mergeLayers } from '../../src/scanner/layer-merge.js';
import { scanLayer } from '../../src/scanner/layer-reader.js';
import { chunked, DIGEST, gzip, tarOf } from './tar-fixtures.js';
import { run, tarOfPaths } from './real-files.js';

interface LsNode {
  version?: string;
  missing?: boolean;
  dependencies?: Record<string, LsNode>;
}

/** Every name@version in `npm ls --all --json` for this repository. */
function npmLs(): Set<string> {
  const tree = JSON.parse(run('npm', ['ls', '--all', '--json'], { cwd: process.cwd() })) as LsNode;
  const out = new Set<string>();
  const stack = [tree];
  while (stack.length > 0) {
    for (const [name, v] of Object.entries(stack.pop()!.dependencies ?? {})) {
      if (v.version && !v.missing) out.add(`${name}@${v.version}`);
      stack.push(v);
    }
  }
  return out;
}

const name = (p: { namespace?: string; name: string }): string => (p.namespace ? `${p.namespace}/${p.name}` : p.name);

describe('npm analyzer', () => {
  it("finds this repository's installed packages as npm ls lists them", async () => {
    // every package.json below node_modules, nested ones inside packages included
    const files = run('find', ['node_modules', '-name', 'package.json', '-type', 'f']).trim().split('\n');
    const layer = tarOfPaths(process.cwd(), files, ['--transform', 's,^,app/,']);
    const inv = await scanLayer(chunked(gzip(layer)), { layerDigest: DIGEST });
    const got = new Set(inv.packages.filter((p) => p.type === 'npm').map((p) => `${name(p)}@${p.version}`));
    expect(got).toEqual(npmLs());
    const vitest = inv.packages.find((p) => p.name === 'vitest' && !p.namespace)!;
    expect(vitest.path).toBe('app/node_modules/vitest/package.json');
    const scoped = inv.packages.find((p) => p.namespace === '@types' && p.name === 'node')!;
    expect(scoped.purl).toBe(`pkg:npm/%40types/node@${scoped.version}`);
  });

  it('reads package-lock.json v1, v2/v3 and yarn.lock, without repeating what node_modules shows', async () => {
    const v3 = {
      name: 'app', lockfileVersion: 3,
      packages: {
        '': { name: 'app', version: '1.0.0' },
        'node_modules/left-pad': { version: '1.3.0' },
        'node_modules/@scope/pkg': { version: '2.0.0' },
        'node_modules/a/node_modules/left-pad': { version: '1.1.0' },
        'node_modules/alias': { name: 'real-name', version: '3.0.0' },
        'node_modules/devonly': { version: '9.9.9', dev: true },
        'packages/ws': { version: '0.0.1' },
        'node_modules/ws': { resolved: 'packages/ws', link: true },
      },
    };
    const v1 = { lockfileVersion: 1, dependencies: { express: { version: '4.18.2', dependencies: { 'debug': { version: '2.6.9' } } } } };
    const yarn = [
      '# yarn lockfile v1', '',
      '"@babel/code-frame@^7.0.0", "@babel/code-frame@^7.10.4":', '  version "7.12.13"', '  resolved "https://example/x.tgz"', '',
      'lodash@^4.17.21:', '  version "4.17.21"', '',
    ].join('\n');
    const berry = ['__metadata:', '  version: 6', '', '"app@workspace:.":', '  version: 0.0.0-use.local', '', '"chalk@npm:^4.1.0":', '  version: 4.1.2', ''].join('\n');
    const layer = tarOf([
      { name: 'srv/package-lock.json', body: JSON.stringify(v3) },
      { name: 'srv/node_modules/left-pad/package.json', body: JSON.stringify({ name: 'left-pad', version: '1.3.0' }) },
      { name: 'old/npm-shrinkwrap.json', body: JSON.stringify(v1) },
      { name: 'web/yarn.lock', body: yarn },
      { name: 'berry/yarn.lock', body: berry },
      { name: 'srv/node_modules/.package-lock.json', body: JSON.stringify(v3) },
    ]);
    const inv = mergeLayers([await scanLayer(chunked(layer), { layerDigest: DIGEST })]);
    const got = inv.packages.map((p) => `${p.path} ${name(p)}@${p.version}`).sort();
    expect(got).toEqual([
      'berry/yarn.lock chalk@4.1.2',
      'old/npm-shrinkwrap.json debug@2.6.9',
      'old/npm-shrinkwrap.json express@4.18.2',
      'srv/node_modules/left-pad/package.json left-pad@1.3.0',
      'srv/package-lock.json @scope/pkg@2.0.0',
      'srv/package-lock.json left-pad@1.1.0',
      'srv/package-lock.json real-name@3.0.0',
      'web/yarn.lock @babel/code-frame@7.12.13',
      'web/yarn.lock lodash@4.17.21',
    ]);
  });
});
