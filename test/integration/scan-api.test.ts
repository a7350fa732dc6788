import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runTool } from '../helpers/child-server.js';
import { REPO_ROOT, testImages, type TestImages } from '../helpers/images.js';
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../helpers/server.js';

/**
 * The scan pipeline through the HTTP API on the real Debian images of test/helpers/images.ts:
 * auto_scan on push, layers read once whatever image they appear in, index aggregation,
 * re-evaluation when the vulnerability data changes (no layer read), Harbor's report and
 * overview shapes, CSV, scan-all. Expected findings come from the Debian fixture's OSV records
 * and the image's own dpkg status, compared with Debian's `dpkg --compare-versions`.
 */

const run = promisify(execFile);
const REPORT = 'application/vnd.security.vulnerability.report; version=1.1';
const DEBIAN_FIXTURE = join(REPO_ROOT, 'test/fixtures/vulndata/debian/debian12-changelog-fixture-osv.json');

let s: TestServer;
let images: TestImages;

const api = (path: string, init: RequestInit = {}) =>
  fetch(`${s.url}/api/v2.0${path}`, {
    ...init,
    headers: { authorization: s.adminBasic, ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}), ...(init.headers ?? {}) },
  });

async function copy(tag: 'bookworm' | 'multilayer' | 'multiarch', dest: string): Promise<void> {
  await runTool('skopeo', ['copy', '--all', '--dest-tls-verify=false', '--dest-creds', `admin:${ADMIN_PASSWORD}`, images.ref(tag), `docker://${s.host}/${dest}`], { timeoutMs: 120_000 });
}

interface Overview {
  scan_status: string;
  severity: string;
  summary?: { total: number; fixable: number; summary: Record<string, number> };
  complete_percent: number;
  report_id: string;
}

async function overview(project: string, repo: string, ref: string): Promise<Overview | undefined> {
  const res = await api(`/projects/${project}/repositories/${repo}/artifacts/${ref}?with_scan_overview=true`, { headers: { 'x-accept-vulnerabilities': REPORT } });
  expect(res.status).toBe(200);
  const a = (await res.json()) as { scan_overview?: Record<string, Overview> };
  return a.scan_overview?.[REPORT];
}

/** Waits (bounded) until the artifact's scan has finished, whatever its outcome. */
async function scanned(project: string, repo: string, ref: string): Promise<Overview> {
  for (let i = 0; i < 1200; i++) {
    const o = await overview(project, repo, ref);
    if (o && o.scan_status !== 'Pending' && o.scan_status !== 'Running') return o;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the scan of ${project}/${repo}:${ref} did not finish`);
}

interface Vuln {
  id: string;
  package: string;
  version: string;
  fix_version: string;
  severity: string;
  links: string[];
  preferred_cvss: Record<string, unknown>;
  kev: boolean;
}

async function report(project: string, repo: string, ref: string): Promise<{ severity: string; vulnerabilities: Vuln[]; artifact: { digest: string } }> {
  const res = await api(`/projects/${project}/repositories/${repo}/artifacts/${ref}/additions/vulnerabilities`);
  expect(res.status).toBe(200);
  const body = (await res.json()) as Record<string, { severity: string; vulnerabilities: Vuln[]; artifact: { digest: string } }>;
  expect(Object.keys(body)).toEqual([REPORT]);
  return body[REPORT]!;
}

/** The dpkg status of the bookworm layer, read with tar (not with Berth's analyzers). */
async function installedPackages(): Promise<{ name: string; version: string; source: string }[]> {
  const { manifest } = await images.manifest('bookworm');
  const { stdout } = await run('tar', ['-xzOf', images.blobPath(manifest.layers[0]!.digest), 'var/lib/dpkg/status'], { maxBuffer: 64 * 1024 * 1024 });
  return stdout
    .split('\n\n')
    .map((stanza) => {
      const field = (k: string) => new RegExp(`^${k}: (.*)$`, 'm').exec(stanza)?.[1];
      const name = field('Package');
      const version = field('Version');
      const source = field('Source')?.split(' ')[0] ?? name;
      return name && version && source ? { name, version, source } : undefined;
    })
    .filter((p) => p !== undefined);
}

/** What must be found: each fixture record of a source package installed below its fixed version. */
async function expectedFindings(): Promise<Set<string>> {
  const records = JSON.parse(await readFile(DEBIAN_FIXTURE, 'utf8')) as {
    id: string;
    aliases?: string[];
    affected: { package: { ecosystem: string; name: string }; ranges: { events: Record<string, string>[] }[] }[];
  }[];
  const installed = await installedPackages();
  const out = new Set<string>();
  for (const r of records) {
    for (const a of r.affected) {
      if (a.package.ecosystem !== 'Debian:12') continue;
      const fixed = a.ranges.flatMap((x) => x.events).find((e) => e['fixed'])?.['fixed'];
      for (const p of installed.filter((i) => i.source === a.package.name)) {
        const affected = fixed === undefined || (await run('dpkg', ['--compare-versions', p.version, 'lt', fixed]).then(() => true, () => false));
        if (affected) out.add(`${r.aliases?.[0] ?? r.id} ${p.name}`);
      }
    }
  }
  return out;
}

const cveOf = (v: Vuln) => (v.id.startsWith('x_DEBCL-') ? v.id.slice('x_DEBCL-'.length) : v.id);

beforeAll(async () => {
  images = await testImages();
  s = await startTestServer({ BERTH_JOBS_POLL_MS: '50' });
  expect((await api('/projects', { method: 'POST', body: JSON.stringify({ project_name: 'auto', metadata: { public: 'false', auto_scan: 'true' } }) })).status).toBe(201);
  expect((await api('/projects', { method: 'POST', body: JSON.stringify({ project_name: 'manual', metadata: { public: 'false' } }) })).status).toBe(201);
}, 300_000);

afterAll(() => s?.stop());

describe('scanning through the API', () => {
  let bookwormDigest: string;

  it('scans an image pushed into an auto_scan project and stores its inventory', async () => {
    await copy('bookworm', 'auto/deb:1');
    const o = await scanned('auto', 'deb', '1');
    expect(o.scan_status).toBe('Success');
    expect(o.complete_percent).toBe(100);
    // no vulnerability data imported yet
    expect(o.summary).toEqual({ total: 0, fixable: 0, summary: {} });
    expect(s.server.berth.scans.stats.layersRead).toBe(1);
    const r = await report('auto', 'deb', '1');
    bookwormDigest = r.artifact.digest;
    expect(r.vulnerabilities).toEqual([]);
    const m = await s.server.berth.metadata.manifests.stat((await s.server.berth.metadata.repositories.getByName('auto/deb'))!.id, bookwormDigest);
    const inv = await s.server.berth.scans.inventory(m!.id);
    expect(inv?.inventory.distro?.id).toBe('debian');
    expect(inv?.inventory.packages.map((p) => p.name)).toContain('libssl3');
    expect(inv?.image.history.map((h) => h.created_by)).toContain('debootstrap --variant=minbase bookworm');
  });

  it('attaches the new inventory as CycloneDX and SPDX referrers, served as Harbor\'s SBOM addition', async () => {
    const res = await fetch(`${s.url}/v2/auto/deb/referrers/${bookwormDigest}`, { headers: { authorization: s.adminBasic } });
    expect(res.status).toBe(200);
    const index = (await res.json()) as { manifests: { artifactType: string; digest: string }[] };
    expect(index.manifests.map((m) => m.artifactType).sort()).toEqual(['application/spdx+json', 'application/vnd.cyclonedx+json']);
    const spdx = (await (await api(`/projects/auto/repositories/deb/artifacts/${bookwormDigest}/additions/sbom`)).json()) as { spdxVersion: string; packages: { name: string; versionInfo?: string }[] };
    expect(spdx.spdxVersion).toBe('SPDX-2.3');
    const installed = await installedPackages();
    const libssl = installed.find((p) => p.name === 'libssl3')!;
    expect(spdx.packages).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'libssl3', versionInfo: libssl.version })]));
    const cdx = (await (await api(`/projects/auto/repositories/deb/artifacts/${bookwormDigest}/additions/sbom?format=cyclonedx`)).json()) as { specVersion: string; components: { name: string }[] };
    expect(cdx.specVersion).toBe('1.6');
    expect(cdx.components.length).toBe(spdx.packages.length - 1);
  });

  it('matches stored inventories again when the vulnerability data changes, without reading a layer', async () => {
    const before = s.server.berth.scans.stats.layersRead;
    await s.server.berth.vulndb.import([DEBIAN_FIXTURE]);
    expect(s.server.berth.scans.stats.layersRead).toBe(before);
    const o = await scanned('auto', 'deb', '1');
    const r = await report('auto', 'deb', '1');
    const expected = await expectedFindings();
    expect(expected.size).toBeGreaterThan(0);
    expect(new Set(r.vulnerabilities.map((v) => `${cveOf(v)} ${v.package}`))).toEqual(expected);
    expect(o.summary?.total).toBe(r.vulnerabilities.length);
    for (const v of r.vulnerabilities) {
      expect(v.fix_version).not.toBe('');
      expect(typeof v.kev).toBe('boolean');
      expect(v.preferred_cvss).toHaveProperty('score_v3');
    }
    const events = await s.server.berth.metadata.scans.verdictEvents(0, 100);
    expect(events.find((e) => e.digest === bookwormDigest)).toMatchObject({ previousHighest: 'None' });
  });

  it('reads a layer shared by two images once', async () => {
    const before = s.server.berth.scans.stats.layersRead;
    await copy('multilayer', 'auto/multi:1');
    const o = await scanned('auto', 'multi', '1');
    expect(o.scan_status).toBe('Success');
    const { manifest } = await images.manifest('multilayer');
    // the Debian base layer was analysed for auto/deb already
    expect(s.server.berth.scans.stats.layersRead - before).toBe(manifest.layers.length - 1);
    const base = await report('auto', 'deb', '1');
    expect((await report('auto', 'multi', '1')).vulnerabilities.length).toBe(base.vulnerabilities.length);
  });

  it('scans an index through its children and aggregates their findings', async () => {
    await copy('multiarch', 'auto/multiarch:1');
    const o = await scanned('auto', 'multiarch', '1');
    expect(o.scan_status).toBe('Success');
    const base = await report('auto', 'deb', '1');
    // both platforms share the Debian layer: its findings are reported once
    expect(o.summary?.total).toBe(base.vulnerabilities.length);
    expect(o.severity).toBe(base.severity);
  });

  it('scans on demand (202) and keeps the listing overview in Harbor’s shape', async () => {
    await copy('bookworm', 'manual/deb:1');
    expect(await overview('manual', 'deb', '1')).toBeUndefined();
    const denied = await fetch(`${s.url}/api/v2.0/projects/manual/repositories/deb/artifacts/1/scan`, { method: 'POST' });
    expect(denied.status).toBe(401);
    const res = await api('/projects/manual/repositories/deb/artifacts/1/scan', { method: 'POST' });
    expect(res.status).toBe(202);
    const o = await scanned('manual', 'deb', '1');
    expect(o.scan_status).toBe('Success');
    const list = await api('/projects/manual/repositories/deb/artifacts?with_scan_overview=true', { headers: { 'x-accept-vulnerabilities': REPORT } });
    const items = (await list.json()) as { scan_overview?: Record<string, Overview> }[];
    expect(items[0]?.scan_overview?.[REPORT]?.summary?.total).toBe((await report('auto', 'deb', '1')).vulnerabilities.length);
    // without with_scan_overview there is none
    const plain = (await (await api('/projects/manual/repositories/deb/artifacts')).json()) as Record<string, unknown>[];
    expect(plain[0]).not.toHaveProperty('scan_overview');
    // the same layer: nothing read
    expect(s.server.berth.scans.stats.layersReused).toBeGreaterThan(0);
  });

  it('refuses to stop a scan that is not running and scans of unknown artifacts', async () => {
    expect((await api('/projects/manual/repositories/deb/artifacts/1/scan/stop', { method: 'POST' })).status).toBe(400);
    expect((await api('/projects/manual/repositories/deb/artifacts/nope/scan', { method: 'POST' })).status).toBe(404);
  });

  it('exports the findings as CSV', async () => {
    const res = await api('/projects/auto/repositories/deb/artifacts/1/additions/vulnerabilities.csv');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
    const lines = (await res.text()).trimEnd().split('\r\n');
    expect(lines[0]).toMatch(/^Repository,Artifact Digest,CVE ID,Package,Version,Fixed in Version,Severity/);
    expect(lines.length - 1).toBe((await report('auto', 'deb', '1')).vulnerabilities.length);
  });

  it('serves the scan log of a report: the record, the job, the inventory and the summary', async () => {
    const o = await overview('auto', 'deb', '1');
    const res = await api(`/projects/auto/repositories/deb/artifacts/1/scan/${o!.report_id}/log`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    const r = await report('auto', 'deb', '1');
    expect(text).toContain(`scan of auto/deb@${r.artifact.digest}`);
    expect(text).toMatch(/^status: done$/m);
    expect(text).toMatch(/^job \d+: done, attempt 1 of \d+$/m);
    const debs = (await installedPackages()).length;
    expect(text).toMatch(new RegExp(`^inventory: analyzer \\S+, 1 layers, Debian GNU/Linux 12 \\(bookworm\\), \\d+ packages \\(.*deb ${debs}`, 'm'));
    expect(text).toMatch(new RegExp(`^findings: ${r.vulnerabilities.length}, fixable \\d+`, 'm'));
    // umoci's layers (no end-of-archive blocks, a `/` root entry) are read without a warning
    expect(text).not.toMatch(/^warning/m);
    expect((await api('/projects/auto/repositories/deb/artifacts/1/scan/not-this-report/log')).status).toBe(404);
    expect((await fetch(`${s.url}/api/v2.0/projects/auto/repositories/deb/artifacts/1/scan/${o!.report_id}/log`)).status).toBe(401);
  });

  it('keeps a scan-all schedule and runs scan-all on demand', async () => {
    expect((await api('/system/scanAll/schedule', { method: 'PUT', body: JSON.stringify({ schedule: { type: 'Custom', cron: 'x y z' } }) })).status).toBe(400);
    expect((await api('/system/scanAll/schedule', { method: 'PUT', body: JSON.stringify({ schedule: { type: 'Daily' } }) })).status).toBe(200);
    const sched = (await (await api('/system/scanAll/schedule')).json()) as { schedule: { type: string; cron: string; next_scheduled_time: string } };
    expect(sched.schedule).toMatchObject({ type: 'Daily', cron: '0 0 0 * * *' });
    expect(new Date(sched.schedule.next_scheduled_time).getUTCHours()).toBe(0);

    expect((await api('/system/scanAll/schedule', { method: 'POST', body: JSON.stringify({ schedule: { type: 'Manual' } }) })).status).toBe(201);
    let m: { total: number; completed: number; ongoing: boolean; metrics: Record<string, number> } | undefined;
    for (let i = 0; i < 600; i++) {
      m = (await (await api('/scans/all/metrics')).json()) as typeof m;
      if (m && !m.ongoing && m.total > 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    // auto/deb, auto/multi, auto/multiarch (children through it), manual/deb
    expect(m).toMatchObject({ ongoing: false, total: 4, completed: 4, metrics: { Success: 4 } });
    const sm = (await (await api('/scans/schedule/metrics')).json()) as { total: number };
    expect(sm.total).toBe(0);
  });
});

describe('the security hub', () => {
  interface Item {
    project_id: number;
    repository_name: string;
    digest: string;
    tags?: string[];
    cve_id: string;
    severity: string;
    package: string;
    version: string;
    fixed_version: string;
    cvss_v3_score: number;
    links: string[];
  }
  /** every scanned image of the test (an index counts through its children), with its report */
  async function images(): Promise<{ repo: string; digest: string; vulns: Vuln[] }[]> {
    const out: { repo: string; digest: string; vulns: Vuln[] }[] = [];
    for (const [project, repo, ref] of [['auto', 'deb', '1'], ['auto', 'multi', '1'], ['manual', 'deb', '1']] as const) {
      const r = await report(project, repo, ref);
      out.push({ repo: `${project}/${repo}`, digest: r.artifact.digest, vulns: r.vulnerabilities });
    }
    const index = (await (await api('/projects/auto/repositories/multiarch/artifacts/1')).json()) as { references: { child_digest: string }[] };
    expect(index.references.length).toBe(2);
    for (const c of index.references) {
      const r = await report('auto', 'multiarch', c.child_digest);
      out.push({ repo: 'auto/multiarch', digest: c.child_digest, vulns: r.vulnerabilities });
    }
    return out;
  }

  it('sums the findings of every scanned image, each counted once (an index through its children)', async () => {
    const all = await images();
    const res = await api('/security/summary');
    expect(res.status).toBe(200);
    const sum = (await res.json()) as Record<string, number> & { dangerous_cves: { cve_id: string; severity: string }[]; dangerous_artifacts: { repository_name: string; digest: string; critical_cnt: number; high_cnt: number }[] };
    const vulns = all.flatMap((a) => a.vulns);
    expect(vulns.length).toBeGreaterThan(0);
    expect(sum['total_vuls']).toBe(vulns.length);
    const count = (sev: string) => vulns.filter((v) => v.severity === sev).length;
    expect([sum['critical_cnt'], sum['high_cnt'], sum['medium_cnt'], sum['low_cnt'], sum['none_cnt'], sum['unknown_cnt']]).toEqual(['Critical', 'High', 'Medium', 'Low', 'None', 'Unknown'].map(count));
    expect(sum['fixable_cnt']).toBe(vulns.filter((v) => v.fix_version !== '').length);
    expect(sum['scanned_cnt']).toBe(all.length);
    expect(sum['total_artifact']).toBe(all.length);
    expect(sum.dangerous_cves.length).toBe(Math.min(5, new Set(vulns.map(cveOf)).size));
    expect(new Set(sum.dangerous_cves.map((c) => c.cve_id)).size).toBe(sum.dangerous_cves.length);
    const worst = Math.max(...vulns.map((v) => ['None', 'Unknown', 'Low', 'Medium', 'High', 'Critical'].indexOf(v.severity)));
    expect(sum.dangerous_cves[0]!.severity).toBe(['None', 'Unknown', 'Low', 'Medium', 'High', 'Critical'][worst]);
    // artifacts with Medium findings or worse (the Debian fixture rates none: its records carry no
    // severity, so they are Unknown; the repository test covers the order)
    const dangerous = all.filter((a) => a.vulns.some((v) => ['Medium', 'High', 'Critical'].includes(v.severity)));
    expect(sum.dangerous_artifacts.length).toBe(Math.min(5, dangerous.length));
    for (const d of sum.dangerous_artifacts) expect(dangerous.some((a) => a.repo === d.repository_name && a.digest === d.digest)).toBe(true);
    // without the lists
    const bare = (await (await api('/security/summary?with_dangerous_cve=false&with_dangerous_artifact=false')).json()) as Record<string, unknown>;
    expect(bare).not.toHaveProperty('dangerous_cves');
    expect(bare).not.toHaveProperty('dangerous_artifacts');
    expect(bare['total_vuls']).toBe(vulns.length);
  });

  it('finds every image with a CVE, and filters by package, severity, repository, tag and score', async () => {
    const all = await images();
    const target = cveOf(all[0]!.vulns[0]!);
    const expected = all.filter((a) => a.vulns.some((v) => cveOf(v) === target)).map((a) => `${a.repo}@${a.digest}`);
    expect(expected.length).toBeGreaterThanOrEqual(4);
    const res = await api(`/security/vul?q=${encodeURIComponent(`cve_id=${target}`)}&page_size=100&with_tag=true`);
    expect(res.status).toBe(200);
    const items = (await res.json()) as Item[];
    expect(res.headers.get('x-total-count')).toBe(String(items.length));
    expect([...new Set(items.map((i) => `${i.repository_name}@${i.digest}`))].sort()).toEqual([...new Set(expected)].sort());
    expect(items.find((i) => i.repository_name === 'auto/deb')?.tags).toEqual(['1']);
    for (const i of items) expect(i.cve_id).toBe(target);

    const pkg = all[0]!.vulns[0]!.package;
    const byPkg = (await (await api(`/security/vul?q=${encodeURIComponent(`package=${pkg},repository_name=auto/deb`)}&page_size=1000`)).json()) as Item[];
    expect(byPkg.length).toBe(all[0]!.vulns.filter((v) => v.package === pkg).length);
    const sev = all[0]!.vulns[0]!.severity;
    const bySev = await api(`/security/vul?q=${encodeURIComponent(`severity=${sev.toLowerCase()},tag=1,repository_name=~deb`)}&page_size=1`);
    const perImage = all[0]!.vulns.filter((v) => v.severity === sev).length;
    // auto/deb:1 and manual/deb:1 are the same image
    expect(bySev.headers.get('x-total-count')).toBe(String(2 * perImage));
    expect(bySev.headers.get('link')).toContain('rel="next"');
    const scored = (await (await api(`/security/vul?q=${encodeURIComponent('cvss_score_v3=[7~10]')}&page_size=1000`)).json()) as Item[];
    const high = all.flatMap((a) => a.vulns).filter((v) => Number(v.preferred_cvss['score_v3'] ?? 0) >= 7);
    expect(scored.length).toBe(high.length);
    for (const i of scored) expect(i.cvss_v3_score).toBeGreaterThanOrEqual(7);
    expect((await api('/security/vul?tune_count=true')).headers.get('x-total-count')).toBe(String(all.flatMap((a) => a.vulns).length));
  });

  it('refuses unknown query keys and bad values, anonymous callers and users who are not admins', async () => {
    expect((await api('/security/vul?q=colour%3Dred')).status).toBe(400);
    expect((await api('/security/vul?q=severity%3Dterrible')).status).toBe(400);
    expect((await api(`/security/vul?q=${encodeURIComponent('cvss_score_v3=[1~eleven]')}`)).status).toBe(400);
    expect((await api('/security/vul?page_size=100000')).status).toBe(400);
    expect((await fetch(`${s.url}/api/v2.0/security/summary`)).status).toBe(401);
    const created = await api('/users', { method: 'POST', body: JSON.stringify({ username: 'hubuser', email: 'hub@example.test', realname: 'Hub User', password: 'Hubuser12345' }) });
    expect(created.status).toBe(201);
    const asUser = { authorization: `Basic ${Buffer.from('hubuser:Hubuser12345').toString('base64')}` };
    expect((await fetch(`${s.url}/api/v2.0/security/summary`, { headers: asUser })).status).toBe(403);
    expect((await fetch(`${s.url}/api/v2.0/security/vul`, { headers: asUser })).status).toBe(403);
  });
});

describe('CVE export', () => {
  interface Execution {
    id: number;
    status: string;
    status_text: string;
    file_present: boolean;
    user_name: string;
    job_name: string;
    rows: number;
  }
  const as = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });
  const HEADER = 'Repository,Artifact Digest,CVE ID,Package,Version,Fixed in Version,Severity,CVSS Score,CVSS Vector,KEV,EPSS,EPSS Percentile,PURL,Layer,Path';
  let autoId: number;

  const exportAs = (headers: Record<string, string>, body: unknown) =>
    fetch(`${s.url}/api/v2.0/export/cve`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json', 'x-scan-data-type': REPORT }, body: JSON.stringify(body) });

  /** Requests an export as admin, waits (bounded) for it, returns its execution and CSV lines. */
  async function exported(body: Record<string, unknown>): Promise<{ execution: Execution; lines: string[] }> {
    const res = await exportAs({ authorization: s.adminBasic }, body);
    expect(res.status).toBe(200);
    const { id } = (await res.json()) as { id: number };
    let e: Execution | undefined;
    for (let i = 0; i < 600; i++) {
      e = (await (await api(`/export/cve/execution/${id}`)).json()) as Execution;
      if (e.status !== 'Pending' && e.status !== 'Running') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(e).toMatchObject({ status: 'Success', file_present: true, user_name: 'admin' });
    const dl = await api(`/export/cve/download/${id}?format=csv`);
    expect(dl.status).toBe(200);
    expect(dl.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(dl.headers.get('content-disposition')).toMatch(/^attachment; filename=".+\.csv"$/);
    const lines = (await dl.text()).trimEnd().split('\r\n');
    expect(lines[0]).toBe(HEADER);
    expect(e!.rows).toBe(lines.length - 1);
    return { execution: e!, lines: lines.slice(1) };
  }

  beforeAll(async () => {
    autoId = ((await (await api('/projects/auto')).json()) as { project_id: number }).project_id;
  });

  it('exports the findings of the images of a project, narrowed by repository pattern', async () => {
    const deb = await report('auto', 'deb', '1');
    const { lines, execution } = await exported({ job_name: 'deb only', projects: [autoId], repositories: 'auto/d*' });
    expect(execution.job_name).toBe('deb only');
    expect(lines.length).toBe(deb.vulnerabilities.length);
    for (const l of lines) expect(l.startsWith(`auto/deb,${deb.artifact.digest},`)).toBe(true);
    // the whole project: auto/deb, auto/multi and both children of auto/multiarch
    const all = await exported({ projects: [autoId] });
    const multi = await report('auto', 'multi', '1');
    expect(all.lines.length).toBe(deb.vulnerabilities.length + multi.vulnerabilities.length + 2 * deb.vulnerabilities.length);
  });

  it('narrows by CVE ids, tags and labels', async () => {
    const deb = await report('auto', 'deb', '1');
    const cve = deb.vulnerabilities[0]!.id;
    const byCve = await exported({ projects: [autoId], cveIds: `${cve}, CVE-1999-0000` });
    expect(byCve.lines.length).toBeGreaterThanOrEqual(4);
    for (const l of byCve.lines) expect(l.split(',')[2]).toBe(cve);
    expect((await exported({ projects: [autoId], tags: 'nothing-*' })).lines).toEqual([]);
    // the children of an index have no tags: a tag pattern leaves them out
    expect((await exported({ projects: [autoId], tags: '1' })).lines.length).toBe(2 * deb.vulnerabilities.length);

    const label = await api('/labels', { method: 'POST', body: JSON.stringify({ name: 'export-me', scope: 'p', project_id: autoId }) });
    expect(label.status).toBe(201);
    const labelId = Number(label.headers.get('location')!.split('/').pop());
    expect((await api('/projects/auto/repositories/multi/artifacts/1/labels', { method: 'POST', body: JSON.stringify({ id: labelId }) })).status).toBe(200);
    const byLabel = await exported({ projects: [autoId], labels: [labelId] });
    expect(byLabel.lines.length).toBe((await report('auto', 'multi', '1')).vulnerabilities.length);
    for (const l of byLabel.lines) expect(l.startsWith('auto/multi,')).toBe(true);
  });

  it('lets a developer export, not a guest; each sees only their own exports', async () => {
    await api('/users', { method: 'POST', body: JSON.stringify({ username: 'exporter', email: 'exp@example.test', realname: 'Exporter', password: 'Exporter12345' }) });
    const user = as('exporter', 'Exporter12345');
    // not a member of the private project: it does not exist for them
    expect((await exportAs(user, { projects: [autoId] })).status).toBe(404);
    expect((await api('/projects/auto/members', { method: 'POST', body: JSON.stringify({ role_id: 3, member_user: { username: 'exporter' } }) })).status).toBe(201);
    expect((await exportAs(user, { projects: [autoId] })).status).toBe(403);
    const members = (await (await api('/projects/auto/members?entityname=exporter')).json()) as { id: number }[];
    expect((await api(`/projects/auto/members/${members[0]!.id}`, { method: 'PUT', body: JSON.stringify({ role_id: 2 }) })).status).toBe(200);
    const mine = await exportAs(user, { projects: [autoId], job_name: 'mine' });
    expect(mine.status).toBe(200);
    const { id } = (await mine.json()) as { id: number };
    const list = (await (await fetch(`${s.url}/api/v2.0/export/cve/executions`, { headers: user })).json()) as { items: Execution[] };
    expect(list.items.map((e) => e.job_name)).toEqual(['mine']);
    // the administrator's exports are not theirs
    const adminList = (await (await api('/export/cve/executions')).json()) as { items: Execution[] };
    const adminOwn = adminList.items.find((e) => e.user_name === 'admin')!;
    expect((await fetch(`${s.url}/api/v2.0/export/cve/execution/${adminOwn.id}`, { headers: user })).status).toBe(404);
    expect((await fetch(`${s.url}/api/v2.0/export/cve/download/${adminOwn.id}`, { headers: user })).status).toBe(404);
    // an administrator sees any
    expect((await api(`/export/cve/execution/${id}`)).status).toBe(200);
  });

  it('refuses bad requests with a 400, anonymous callers with a 401, and unknown exports with a 404', async () => {
    const admin = { authorization: s.adminBasic };
    expect((await exportAs(admin, { projects: [] })).status).toBe(400);
    expect((await exportAs(admin, {})).status).toBe(400);
    expect((await exportAs(admin, { projects: [autoId], repositories: '[abc' })).status).toBe(400);
    expect((await exportAs(admin, { projects: [autoId], cveIds: 'CVE-1; DROP TABLE' })).status).toBe(400);
    expect((await exportAs(admin, { projects: [999999] })).status).toBe(404);
    const wrongType = await fetch(`${s.url}/api/v2.0/export/cve`, { method: 'POST', headers: { ...admin, 'content-type': 'application/json', 'x-scan-data-type': 'text/plain' }, body: JSON.stringify({ projects: [autoId] }) });
    expect(wrongType.status).toBe(400);
    expect((await exportAs({}, { projects: [autoId] })).status).toBe(401);
    expect((await fetch(`${s.url}/api/v2.0/export/cve/executions`)).status).toBe(401);
    expect((await api('/export/cve/execution/999999')).status).toBe(404);
    expect((await api('/export/cve/download/999999')).status).toBe(404);
    expect((await api('/export/cve/execution/abc')).status).toBe(400);
  });

  it('removes exports older than a day with their files', async () => {
    const { metadata, storage, cveExports } = s.server.berth;
    const old = await metadata.cveExports.create({ requester: 'user:1', userId: 1, username: 'admin', jobName: 'old', params: { projectIds: [autoId] }, now: Date.now() - 2 * 24 * 3_600_000 });
    await storage.putContent(`exports/cve/${old.id}.csv`, Buffer.from('x'));
    await metadata.cveExports.update(old.id, { status: 'Success', filePath: `exports/cve/${old.id}.csv`, fileSize: 1 });
    const before = (await metadata.cveExports.list(undefined, 1000)).length;
    expect(await cveExports.sweep()).toBe(1);
    expect(await metadata.cveExports.get(old.id)).toBeUndefined();
    expect(await storage.stat(`exports/cve/${old.id}.csv`)).toBeUndefined();
    expect((await metadata.cveExports.list(undefined, 1000)).length).toBe(before - 1);
  });
});
