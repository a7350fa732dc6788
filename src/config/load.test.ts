import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, configJsonSchema, loadConfig } from './load.js';

const dir = () => mkdtempSync(join(tmpdir(), 'berth-config-'));

function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

describe('configuration', () => {
  it('has the run contract defaults with no file and no environment', () => {
    const c = loadConfig({ env: {}, cwd: dir() });
    expect(c.listen).toBe('127.0.0.1:5000');
    expect(c.dataDir).toBe('./data');
    expect(c.externalUrl).toBeUndefined();
    expect(c.database.driver).toBe('sqlite');
    expect(c.storage.driver).toBe('filesystem');
    expect(c.limits.manifestMaxBytes).toBe(4 * 1024 * 1024);
  });

  it('reads berth.yaml from the working directory and lets BERTH_* override it', () => {
    const d = dir();
    writeFileSync(join(d, 'berth.yaml'), 'listen: 127.0.0.1:6000\ndataDir: /srv/berth\nuploads:\n  sessionTtlSeconds: 60\n');
    const c = loadConfig({ env: { BERTH_LISTEN: '127.0.0.1:7000', BERTH_EXTERNAL_URL: 'https://registry.example.com' }, cwd: d });
    expect(c.listen).toBe('127.0.0.1:7000');
    expect(c.dataDir).toBe('/srv/berth');
    expect(c.uploads.sessionTtlSeconds).toBe(60);
    expect(c.externalUrl).toBe('https://registry.example.com');
  });

  it('maps nested keys to upper snake case environment variables and coerces their types', () => {
    const c = loadConfig({
      env: { BERTH_STORAGE_S3_BUCKET: 'blobs', BERTH_STORAGE_REDIRECT: 'true', BERTH_LIMITS_MANIFEST_MAX_BYTES: '2048', BERTH_ADMIN_PASSWORD: 'x' },
      cwd: dir(),
    });
    expect(c.storage.s3.bucket).toBe('blobs');
    expect(c.storage.redirect).toBe(true);
    expect(c.limits.manifestMaxBytes).toBe(2048);
    expect(c.adminPassword).toBe('x');
  });

  it('takes an explicit file over berth.yaml', () => {
    const d = dir();
    writeFileSync(join(d, 'berth.yaml'), 'listen: 127.0.0.1:6000\n');
    writeFileSync(join(d, 'other.yaml'), 'listen: 127.0.0.1:6001\n');
    expect(loadConfig({ env: {}, cwd: d, file: 'other.yaml' }).listen).toBe('127.0.0.1:6001');
    expect(loadConfig({ env: { BERTH_CONFIG: 'other.yaml' }, cwd: d }).listen).toBe('127.0.0.1:6001');
  });

  it('rejects unknown keys and reports every problem at once', () => {
    const d = dir();
    writeFileSync(join(d, 'berth.yaml'), 'listen: 1\nlisten_port: 5000\nstorage:\n  driver: floppy\n  s3:\n    buckit: x\nuploads:\n  sessionTtlSeconds: -1\n');
    const p = problems(() => loadConfig({ env: { BERTH_NOT_A_KEY: '1', BERTH_UPLOADS_MAX_BLOB_BYTES: 'many' }, cwd: d }));
    expect(p).toEqual(
      expect.arrayContaining([
        'environment variable BERTH_NOT_A_KEY is not a configuration key',
        expect.stringContaining('BERTH_UPLOADS_MAX_BLOB_BYTES'),
        'listen_port: unknown key',
        'storage.s3.buckit: unknown key',
        expect.stringMatching(/^storage\.driver: /),
        expect.stringMatching(/^uploads\.sessionTtlSeconds: /),
        expect.stringMatching(/^listen: /),
      ]),
    );
    expect(p.length).toBeGreaterThanOrEqual(7);
  });

  it('reports a YAML syntax error with the file name', () => {
    const d = dir();
    writeFileSync(join(d, 'berth.yaml'), 'listen: [unclosed\n');
    expect(problems(() => loadConfig({ env: {}, cwd: d }))[0]).toMatch(/^berth\.yaml: /);
  });

  it('prints a JSON Schema that forbids unknown keys', () => {
    const s = configJsonSchema() as { type: string; additionalProperties: boolean; properties: Record<string, unknown> };
    expect(s.type).toBe('object');
    expect(s.additionalProperties).toBe(false);
    expect(Object.keys(s.properties)).toEqual(expect.arrayContaining(['listen', 'dataDir', 'externalUrl', 'adminPassword', 'storage', 'database']));
  });
});
