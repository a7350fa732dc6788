#!/usr/bin/env node
// Writes docs/openapi.json from the routes' own schemas: builds the whole app exactly as
// `berth serve` does (SQLite and a data folder in a temporary directory, nothing listening) and
// asks it for GET /api/v2.0/openapi.json. With --check it writes nothing and fails when the
// committed document differs (run `npm run openapi` and commit the result).
// Run after `npm run build`: it loads dist/.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const check = process.argv.includes('--check');
const target = resolve(import.meta.dirname, '..', 'docs', 'openapi.json');

const { loadConfig } = await import('../dist/config/load.js');
const { compose } = await import('../dist/compose.js');

const dataDir = await mkdtemp(join(tmpdir(), 'berth-openapi-'));
let doc;
try {
  const config = loadConfig({ env: { BERTH_DATA_DIR: dataDir, BERTH_LOG_LEVEL: 'silent', BERTH_LISTEN: '127.0.0.1:0' }, cwd: dataDir });
  const berth = await compose(config);
  try {
    await berth.app.ready();
    const res = await berth.app.inject({ method: 'GET', url: '/api/v2.0/openapi.json' });
    if (res.statusCode !== 200) throw new Error(`GET /api/v2.0/openapi.json answered ${res.statusCode}: ${res.body.slice(0, 300)}`);
    doc = res.body;
  } finally {
    await berth.close();
  }
} finally {
  await rm(dataDir, { recursive: true, force: true });
}

if (check) {
  const committed = await readFile(target, 'utf8').catch(() => '');
  if (committed !== doc) {
    process.stderr.write('docs/openapi.json is out of date with the routes: run `npm run openapi` and commit docs/openapi.json\n');
    process.exit(1);
  }
  process.stdout.write(`docs/openapi.json is up to date (${Object.keys(JSON.parse(doc).paths).length} paths)\n`);
} else {
  await writeFile(target, doc);
  process.stdout.write(`wrote docs/openapi.json (${Object.keys(JSON.parse(doc).paths).length} paths)\n`);
}
