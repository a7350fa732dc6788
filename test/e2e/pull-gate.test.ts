import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runTool, ToolError } from '../helpers/child-server.js';
import { REPO_ROOT } from '../helpers/images.js';
import { RegistryClient } from '../helpers/registry-client.js';
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../helpers/server.js';

/**
 * The pull gate end to end (project prevent_vul): a synthetic Debian 12 image whose dpkg status
 * names zlib1g 1:1.2.11.dfsg-2, which the Debian 12 fixture (test/fixtures/vulndata/debian)
 * marks vulnerable to CVE-2018-25032 (fixed in 1:1.2.11.dfsg-4) and CVE-2022-37434 (fixed in
 * 1:1.2.11.dfsg-4.1). The first pull scans the unscanned image and is refused with Harbor's
 * message; skopeo is refused too; allowlisting both CVEs lets the pull pass; an expired
 * allowlist applies to nothing again. The fixture records carry no severity (Unknown), so the
 * project's threshold is Harbor's "none" (every finding counts).
 */

const run = promisify(execFile);
const DEBIAN_FIXTURE = join(REPO_ROOT, 'test/fixtures/vulndata/debian/debian12-changelog-fixture-osv.json');
const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

let s: TestServer;
let admin: RegistryClient;
let work: string;
let layer: Buffer;

const api = (path: string, init: RequestInit = {}) =>
  fetch(`${s.url}/api/v2.0${path}`, { ...init, headers: { authorization: s.adminBasic, 'content-type': 'application/json', ...(init.headers ?? {}) } });
const put = (path: string, body: unknown) => api(path, { method: 'PUT', body: JSON.stringify(body) });

async function debianLayer(): Promise<Buffer> {
  const root = join(work, 'rootfs');
  await mkdir(join(root, 'etc'), { recursive: true });
  await mkdir(join(root, 'var/lib/dpkg'), { recursive: true });
  await writeFile(join(root, 'etc/os-release'), 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\nID=debian\n');
  await writeFile(
    join(root, 'var/lib/dpkg/status'),
    [
      'Package: zlib1g',
      'Status: install ok installed',
      'Priority: required',
      'Section: libs',
      'Architecture: amd64',
      'Multi-Arch: same',
      'Source: zlib',
      'Version: 1:1.2.11.dfsg-2',
      'Description: compression library - runtime',
      '',
    ].join('\n'),
  );
  const out = join(work, 'layer.tar.gz');
  await run('tar', ['-czf', out, '-C', root, 'etc', 'var']);
  return readFile(out);
}

async function pull(ref: string, method: 'GET' | 'HEAD' = 'GET') {
  return admin.fetch(`/v2/gated/zlib/manifests/${ref}`, { method, headers: { accept: MANIFEST } });
}

async function skopeoPull(ref: string): Promise<{ ok: true } | { ok: false; stderr: string }> {
  const dest = await mkdtemp(join(work, 'pull-'));
  try {
    await runTool('skopeo', ['copy', '--src-tls-verify=false', '--src-creds', `admin:${ADMIN_PASSWORD}`, `docker://${s.host}/gated/zlib:${ref}`, `dir:${dest}`], { timeoutMs: 60_000 });
    return { ok: true };
  } catch (e) {
    if (e instanceof ToolError) return { ok: false, stderr: e.stderr };
    throw e;
  } finally {
    await rm(dest, { recursive: true, force: true });
  }
}

const HARBOR_TAIL = 'To continue with pull, please contact your project administrator to exempt matched vulnerabilities through configuring the CVE allowlist.';

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'berth-gate-'));
  layer = await debianLayer();
  s = await startTestServer({ BERTH_JOBS_POLL_MS: '50' });
  admin = new RegistryClient(s.url, s.adminBasic);
  await s.server.berth.vulndb.import([DEBIAN_FIXTURE]);
  const created = await api('/projects', { method: 'POST', body: JSON.stringify({ project_name: 'gated', metadata: { public: 'false', prevent_vul: 'true', severity: 'none' } }) });
  expect(created.status).toBe(201);
}, 120_000);

afterAll(async () => {
  await s?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('the pull gate', () => {
  let digest: string;

  it('scans an unscanned image before its first pull answers, and refuses it with Harbor’s message', async () => {
    digest = (await admin.pushImage('gated/zlib', '1', layer)).digest;
    // nothing scanned it yet: the project has no auto_scan
    const before = await api(`/projects/gated/repositories/zlib/artifacts/1?with_scan_overview=true`);
    expect(((await before.json()) as { scan_overview?: unknown }).scan_overview).toBeUndefined();

    const res = await pull('1');
    expect(res.status).toBe(412);
    const body = (await res.json()) as { errors: { code: string; message: string; detail: { reason: string; total: number; ids: string[] } }[] };
    expect(body.errors[0]!.code).toBe('PROJECTPOLICYVIOLATION');
    expect(body.errors[0]!.message).toBe(
      `current image with 2 vulnerabilities cannot be pulled due to configured policy in 'Prevent images with vulnerability severity of "None" or higher from running.' ${HARBOR_TAIL}`,
    );
    expect(body.errors[0]!.detail.reason).toBe('vulnerable');
    // the ids are the fixture's; the CVEs are their aliases
    expect(body.errors[0]!.detail.ids.map((id) => id.replace(/^x_DEBCL-/, '')).sort()).toEqual(['CVE-2018-25032', 'CVE-2022-37434']);

    // the scan the gate ran is the artifact's scan
    const after = await api(`/projects/gated/repositories/zlib/artifacts/1?with_scan_overview=true`);
    const overview = Object.values(((await after.json()) as { scan_overview: Record<string, { scan_status: string; summary: { total: number } }> }).scan_overview)[0]!;
    expect(overview.scan_status).toBe('Success');
    expect(overview.summary.total).toBe(2);
  });

  it('refuses HEAD and pulls by digest alike, a system administrator’s included', async () => {
    expect((await pull('1', 'HEAD')).status).toBe(412);
    expect((await pull(digest, 'HEAD')).status).toBe(412);
    expect((await pull(digest)).status).toBe(412);
  });

  it('lets the scanner’s own pull token through, and a client asking the token service for scanner-pull gets no such grant', async () => {
    const scanner = await s.server.berth.access.issueInternalPullToken('berth-scanner', 'gated/zlib', 120);
    const res = await fetch(`${s.url}/v2/gated/zlib/manifests/1`, { headers: { authorization: `Bearer ${scanner.token}`, accept: MANIFEST } });
    expect(res.status).toBe(200);
    const asked = (await (await fetch(`${s.url}/service/token?service=berth&scope=repository:gated/zlib:pull,scanner-pull`, { headers: { authorization: s.adminBasic } })).json()) as { token: string };
    const own = await fetch(`${s.url}/v2/gated/zlib/manifests/1`, { headers: { authorization: `Bearer ${asked.token}`, accept: MANIFEST } });
    expect(own.status).toBe(412);
  });

  it('refuses skopeo', async () => {
    const r = await skopeoPull('1');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.stderr).toMatch(/cannot be pulled due to configured policy|412|PROJECTPOLICYVIOLATION/);
  });

  it('lets the pull pass once the project allowlists both CVEs, and refuses it again when the allowlist has expired', async () => {
    const items = [{ cve_id: 'CVE-2018-25032' }, { cve_id: 'CVE-2022-37434' }];
    const inAnHour = Math.floor(Date.now() / 1000) + 3600;
    expect((await put('/projects/gated', { metadata: { reuse_sys_cve_allowlist: 'false' }, cve_allowlist: { items, expires_at: inAnHour } })).status).toBe(200);
    const project = (await (await api('/projects/gated')).json()) as { metadata: Record<string, string>; cve_allowlist: { items: { cve_id: string }[]; expires_at: number } };
    expect(project.metadata).toMatchObject({ prevent_vul: 'true', severity: 'none', reuse_sys_cve_allowlist: 'false', public: 'false' });
    expect(project.cve_allowlist).toMatchObject({ items, expires_at: inAnHour });

    expect((await pull('1')).status).toBe(200);
    expect((await pull('1', 'HEAD')).status).toBe(200);
    expect(await skopeoPull('1')).toEqual({ ok: true });

    // one CVE left out: refused, naming the one left
    expect((await put('/projects/gated', { cve_allowlist: { items: items.slice(0, 1), expires_at: inAnHour } })).status).toBe(200);
    const one = await pull('1');
    expect(one.status).toBe(412);
    expect(((await one.json()) as { errors: { message: string }[] }).errors[0]!.message).toMatch(/^current image with 1 vulnerability cannot be pulled/);

    // expiring in a second: it applies until then and to nothing after
    const soon = Math.floor(Date.now() / 1000) + 1;
    expect((await put('/projects/gated', { cve_allowlist: { items, expires_at: soon } })).status).toBe(200);
    let status = 0;
    for (let i = 0; i < 100 && status !== 412; i++) {
      status = (await pull('1', 'HEAD')).status;
      if (status !== 412) {
        expect(status).toBe(200);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    expect(status).toBe(412);
    expect(Math.floor(Date.now() / 1000)).toBeGreaterThanOrEqual(soon);
    expect((await skopeoPull('1')).ok).toBe(false);
  });

  it('applies the system allowlist to a project that reuses it', async () => {
    expect((await put('/projects/gated', { metadata: { reuse_sys_cve_allowlist: 'true' } })).status).toBe(200);
    expect((await pull('1')).status).toBe(412);
    expect((await put('/system/CVEAllowlist', { items: [{ cve_id: 'CVE-2018-25032' }, { cve_id: 'CVE-2022-37434' }] })).status).toBe(200);
    expect((await pull('1')).status).toBe(200);
  });

  it('lets everything through once prevent_vul is off', async () => {
    expect((await put('/system/CVEAllowlist', { items: [] })).status).toBe(200);
    expect((await pull('1')).status).toBe(412);
    expect((await put('/projects/gated', { metadata: { prevent_vul: 'false' } })).status).toBe(200);
    expect((await pull('1')).status).toBe(200);
    expect(await skopeoPull('1')).toEqual({ ok: true });
  });
});
