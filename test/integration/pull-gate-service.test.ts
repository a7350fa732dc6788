import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRegistryError, type RegistryError } from '../../src/domain/errors.js';
import type { Principal } from '../../src/domain/permission.js';
import type { Finding } from '../../src/domain/vulnerability.js';
import { openMetadata } from '../../src/db/metadata.js';
import type { Metadata } from '../../src/ports/metadata.js';
import type { ArtifactScanStatus, ScanStatusSource } from '../../src/ports/scan-status.js';
import { type GatedPull, PullGateService } from '../../src/services/pull-gate.service.js';

/**
 * The gate's orchestration on a real SQLite database with a clock the test moves: the scan
 * status source is the port's edge (the real scan pipeline is exercised in
 * test/e2e/pull-gate.test.ts); here it is a scripted one, to reach the timeout and cache paths.
 */

const T0 = 1_800_000_000_000;
let now = T0;
const clock = { now: () => now };
let dir: string;
let md: Metadata;
let projectId: number;

const finding = (id: string, severity: Finding['severity'], aliases: string[] = []): Finding => ({
  id,
  aliases,
  package: 'zlib1g',
  packageType: 'deb',
  purl: 'pkg:deb/debian/zlib1g@1',
  version: '1',
  fixVersions: [],
  severity,
  summary: '',
  description: '',
  links: [],
  layerDigest: 'sha256:l',
  path: 'var/lib/dpkg/status',
  kev: false,
  source: 'Debian:12',
});

class ScriptedScans implements ScanStatusSource {
  status: ArtifactScanStatus = { status: 'none' };
  statusCalls = 0;
  scanCalls = 0;
  /** what scanNow resolves with; never resolves when undefined */
  afterScan: ArtifactScanStatus | undefined;
  async statusOf(): Promise<ArtifactScanStatus> {
    this.statusCalls++;
    return this.status;
  }
  scanNow(_r: string, _d: string, signal?: AbortSignal): Promise<ArtifactScanStatus> {
    this.scanCalls++;
    const after = this.afterScan;
    if (after) {
      this.status = after;
      return Promise.resolve(after);
    }
    return new Promise((_resolve, reject) => signal?.addEventListener('abort', () => reject(new Error('aborted'))));
  }
}

const admin: Principal = { kind: 'user', userId: 1, username: 'admin', sysadmin: true };
const pullOf = (principal: Principal = admin, digest = 'sha256:aa'): GatedPull => ({
  projectId,
  projectName: 'gate',
  repositoryId: 1,
  repositoryName: 'gate/app',
  digest,
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  artifactType: 'application/vnd.oci.image.config.v1+json',
  subjectDigest: null,
  principal,
});

async function refusal(gate: PullGateService, pull: GatedPull = pullOf()): Promise<RegistryError | undefined> {
  try {
    await gate.check(pull);
    return undefined;
  } catch (e) {
    if (isRegistryError(e)) return e;
    throw e;
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-gate-svc-'));
  md = await openMetadata({ driver: 'sqlite', path: join(dir, 'berth.db') });
  projectId = (await md.projects.create({ name: 'gate', public: false, ownerId: null, now: T0 })).id;
});
afterAll(async () => {
  await md.close();
  await rm(dir, { recursive: true, force: true });
});

describe('PullGateService', () => {
  it('costs no scan lookup while prevent_vul is off', async () => {
    const scans = new ScriptedScans();
    const gate = new PullGateService({ metadata: md, clock, scans });
    expect(await refusal(gate)).toBeUndefined();
    expect(scans.statusCalls + scans.scanCalls).toBe(0);
  });

  it('refuses as pending when the scan outlasts the timeout, with Harbor’s status wording', async () => {
    await md.projects.setMetadata(projectId, { prevent_vul: 'true', severity: 'high' });
    const scans = new ScriptedScans();
    const gate = new PullGateService({ metadata: md, clock, scans, config: { scanTimeoutMs: 20 } });
    const e = await refusal(gate);
    expect(e?.code).toBe('PROJECTPOLICYVIOLATION');
    expect(e?.message).toMatch(/^current image with "Pending" status of vulnerability scanning cannot be pulled due to configured policy in 'Prevent images with vulnerability severity of "High" or higher from running\.' The scan has not finished yet/);
    expect(scans.scanCalls).toBe(1);
  });

  it('lets an unscanned image through without scanning when prevent_vul_unscanned is false', async () => {
    await md.projects.setMetadata(projectId, { prevent_vul_unscanned: 'false' });
    const scans = new ScriptedScans();
    const gate = new PullGateService({ metadata: md, clock, scans });
    expect(await refusal(gate)).toBeUndefined();
    expect(scans.scanCalls).toBe(0);
    await md.projects.setMetadata(projectId, { prevent_vul_unscanned: 'true' });
  });

  it('refuses an unscanned image when no scan pipeline is composed', async () => {
    const gate = new PullGateService({ metadata: md, clock });
    expect((await refusal(gate))?.message).toMatch(/^current image without vulnerability scanning cannot be pulled/);
  });

  it('keeps a verdict per scan generation: HEADs within the TTL ask nothing, a new generation is judged again', async () => {
    const scans = new ScriptedScans();
    scans.afterScan = { status: 'done', findings: [finding('CVE-1', 'Critical')], generation: 1, completedAt: T0 };
    const gate = new PullGateService({ metadata: md, clock, scans, config: { cacheTtlMs: 1000 } });
    expect((await refusal(gate))?.message).toMatch(/^current image with 1 vulnerability/);
    const calls = scans.statusCalls;
    for (let i = 0; i < 50; i++) expect(await refusal(gate)).toBeDefined();
    expect(scans.statusCalls).toBe(calls);
    // a re-match against new data: nothing above the threshold any more
    scans.status = { status: 'done', findings: [finding('CVE-1', 'Low')], generation: 2, completedAt: T0 + 10 };
    now += 1001;
    expect(await refusal(gate)).toBeUndefined();
  });

  it('applies the allowlist until it expires, by the clock', async () => {
    const scans = new ScriptedScans();
    scans.status = { status: 'done', findings: [finding('DSA-1', 'High', ['CVE-2024-9'])], generation: 3, completedAt: T0 };
    const gate = new PullGateService({ metadata: md, clock, scans });
    await md.projects.setMetadata(projectId, { reuse_sys_cve_allowlist: 'false' });
    await md.cveAllowlists.set(projectId, { items: ['cve-2024-9'], expiresAt: Math.floor(now / 1000) + 60 }, now);
    gate.forget(projectId);
    expect(await refusal(gate)).toBeUndefined();
    now += 59_000;
    expect(await refusal(gate)).toBeUndefined();
    now += 1_000;
    expect((await refusal(gate))?.code).toBe('PROJECTPOLICYVIOLATION');
    // the system list does not apply to a project that does not reuse it
    await md.cveAllowlists.set(null, { items: ['CVE-2024-9'], expiresAt: null }, now);
    gate.forget(null);
    expect(await refusal(gate)).toBeDefined();
    await md.projects.setMetadata(projectId, { reuse_sys_cve_allowlist: 'true' });
    gate.forget(projectId);
    expect(await refusal(gate)).toBeUndefined();
  });

  it('lets the scanner robot through and nobody else, signatures and charts neither judged', async () => {
    const scans = new ScriptedScans();
    scans.status = { status: 'done', findings: [finding('CVE-X', 'Critical')], generation: 4, completedAt: T0 };
    const gate = new PullGateService({ metadata: md, clock, scans });
    const scanner: Principal = { kind: 'robot', robotId: 0, name: 'berth-scanner', permissions: [], token: { access: [{ type: 'repository', name: 'gate/app', actions: ['pull', 'scanner-pull'] }] } };
    const ci: Principal = { kind: 'robot', robotId: 5, name: 'robot$ci', permissions: [], token: { access: [{ type: 'repository', name: 'gate/app', actions: ['pull'] }] } };
    expect(await refusal(gate, pullOf(scanner, 'sha256:bb'))).toBeUndefined();
    expect(await refusal(gate, pullOf(ci, 'sha256:bb'))).toBeDefined();
    expect(await refusal(gate, pullOf(admin, 'sha256:bb'))).toBeDefined();
    expect(await refusal(gate, { ...pullOf(admin, 'sha256:bb'), artifactType: 'application/vnd.cncf.helm.config.v1+json' })).toBeUndefined();
    expect(await refusal(gate, { ...pullOf(admin, 'sha256:bb'), subjectDigest: 'sha256:aa' })).toBeUndefined();
  });
});
