import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runTool, ToolError } from '../helpers/child-server.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

/**
 * A CI pipeline as Harbor users run one: an admin makes a project and a project robot that may
 * push and pull, and skopeo copies an image in with the robot's credentials. The image is a
 * small one built here with umoci.
 */

let s: TestServer;
let work: string;
let layout: string;
let manifestDigest: string;

const json = (method: string, body?: unknown) => ({
  method,
  ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  headers: { authorization: s.adminBasic, 'content-type': 'application/json' },
});

interface Created {
  id: number;
  name: string;
  secret: string;
}

async function robot(name: string, actions: string[]): Promise<Created> {
  const res = await fetch(
    `${s.url}/api/v2.0/robots`,
    json('POST', {
      name,
      level: 'project',
      duration: 1,
      permissions: [{ kind: 'project', namespace: 'proj', access: actions.map((action) => ({ resource: 'repository', action })) }],
    }),
  );
  expect(res.status).toBe(201);
  return (await res.json()) as Created;
}

function copyIn(creds: Created, tag: string): Promise<string> {
  return runTool('skopeo', ['copy', '--dest-tls-verify=false', '--dest-creds', `${creds.name}:${creds.secret}`, `oci:${layout}:tiny`, `docker://${s.host}/proj/app:${tag}`]);
}

async function refusal(p: Promise<unknown>): Promise<string> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(ToolError);
  return (e as ToolError).stderr;
}

/** The tag's manifest digest as the registry serves it to the admin; undefined when absent. */
async function tagDigest(tag: string): Promise<string | undefined> {
  const res = await fetch(`${s.url}/v2/proj/app/manifests/${tag}`, {
    method: 'HEAD',
    headers: { authorization: s.adminBasic, accept: 'application/vnd.oci.image.manifest.v1+json' },
  });
  return res.status === 200 ? (res.headers.get('docker-content-digest') ?? undefined) : undefined;
}

beforeAll(async () => {
  s = await startTestServer();
  work = await mkdtemp(join(tmpdir(), 'berth-robot-e2e-'));
  layout = join(work, 'layout');
  await runTool('umoci', ['init', '--layout', layout]);
  await runTool('umoci', ['new', '--image', `${layout}:tiny`]);
  await writeFile(join(work, 'hello.txt'), `hello from a robot ${Date.now()}\n`);
  await runTool('umoci', ['insert', '--image', `${layout}:tiny`, join(work, 'hello.txt'), '/hello.txt']);
  const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as { manifests: { digest: string; annotations?: Record<string, string> }[] };
  manifestDigest = index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === 'tiny')!.digest;
  expect((await fetch(`${s.url}/api/v2.0/projects`, json('POST', { project_name: 'proj', public: false }))).status).toBe(201);
}, 120_000);

afterAll(async () => {
  await s?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('a project robot with skopeo', () => {
  let ci: Created;

  it('pushes with --dest-creds robot$proj+ci:SECRET and pulls the same image back', async () => {
    ci = await robot('ci', ['push', 'pull']);
    expect(ci.name).toBe('robot$proj+ci');
    await copyIn(ci, '1');
    expect(await tagDigest('1')).toBe(manifestDigest);
    const raw = await runTool('skopeo', ['inspect', '--raw', '--tls-verify=false', '--creds', `${ci.name}:${ci.secret}`, `docker://${s.host}/proj/app:1`]);
    expect(JSON.parse(raw)).toEqual(JSON.parse(await readFile(join(layout, 'blobs', ...manifestDigest.split(':')), 'utf8')));
  });

  it('refuses a robot without push, and anonymous pushes', async () => {
    const reader = await robot('reader', ['pull']);
    const stderr = await refusal(copyIn(reader, '2'));
    expect(stderr).toMatch(/denied|unauthorized|authentication required/i);
    expect(await tagDigest('2')).toBeUndefined();
    // it still pulls
    await runTool('skopeo', ['inspect', '--raw', '--tls-verify=false', '--creds', `${reader.name}:${reader.secret}`, `docker://${s.host}/proj/app:1`]);
    await refusal(runTool('skopeo', ['copy', '--dest-tls-verify=false', '--dest-no-creds', `oci:${layout}:tiny`, `docker://${s.host}/proj/app:anon`]));
    expect(await tagDigest('anon')).toBeUndefined();
  });

  it('refuses a disabled robot, and takes it back once enabled', async () => {
    const current = (await (await fetch(`${s.url}/api/v2.0/robots/${ci.id}`, json('GET'))).json()) as Record<string, unknown>;
    expect((await fetch(`${s.url}/api/v2.0/robots/${ci.id}`, json('PUT', { ...current, disable: true }))).status).toBe(200);
    const stderr = await refusal(copyIn(ci, '3'));
    expect(stderr).toMatch(/unauthorized|authentication required|401/i);
    expect(await tagDigest('3')).toBeUndefined();
    expect((await fetch(`${s.url}/api/v2.0/robots/${ci.id}`, json('PUT', { ...current, disable: false }))).status).toBe(200);
    await copyIn(ci, '4');
    expect(await tagDigest('4')).toBe(manifestDigest);
  });

  it('leaves the robot\'s creation and changes in the audit log, by the admin', async () => {
    const log = await s.server.berth.metadata.audit.list({ resourceType: 'robot', resource: 'robot$proj+ci' }, { limit: 20 });
    expect(log.items.map((r) => [r.operator, r.operation]).reverse()).toEqual([
      ['admin', 'create'],
      ['admin', 'update'],
      ['admin', 'update'],
    ]);
  });

  it("records the robot's pushes in the audit log, operator robot$proj+ci", async () => {
    const log = await s.server.berth.metadata.audit.list({ operator: 'robot$proj+ci', resourceType: 'artifact' }, { limit: 50 });
    const pushes = log.items.filter((r) => r.operation === 'create' || r.operation === 'push').map((r) => r.resource);
    expect(pushes.sort()).toEqual(['proj/app:1', 'proj/app:4']);
    expect(log.items.every((r) => r.result === 'success' && r.sourceIp === '127.0.0.1')).toBe(true);
    // the refused robot pushed nothing
    const refused = await s.server.berth.metadata.audit.list({ operator: 'robot$proj+reader', resourceType: 'artifact', operation: 'create' }, { limit: 10 });
    expect(refused.items).toEqual([]);
  });
});
