import { describe, expect, it } from 'vitest';
import type { Principal } from './permission.js';
import {
  allowlistActive,
  type CveAllowlist,
  decidePull,
  effectiveAllowlist,
  type GatedFinding,
  isGatedArtifact,
  isScannerPull,
  parseSeverityWord,
  policyFromMetadata,
  type PullPolicy,
  validateAllowlist,
} from './pull-policy.js';

const on: PullPolicy = { preventVul: true, severity: 'High', preventUnscanned: true, reuseSystemAllowlist: true };
const f = (id: string, severity: GatedFinding['severity'], aliases: string[] = []): GatedFinding => ({ id, severity, aliases });
const list = (items: string[], expiresAt: number | null, projectId: number | null = null): CveAllowlist => ({ id: 1, projectId, items, expiresAt, createdAt: 0, updatedAt: 0 });
const HARBOR_TAIL = 'To continue with pull, please contact your project administrator to exempt matched vulnerabilities through configuring the CVE allowlist.';

describe('decidePull', () => {
  it('lets everything through while prevent_vul is off', () => {
    expect(decidePull({ policy: { ...on, preventVul: false }, scan: { status: 'none' }, allowlist: new Set() }).allow).toBe(true);
    expect(decidePull({ policy: { ...on, preventVul: false }, scan: { status: 'done', findings: [f('CVE-1', 'Critical')] }, allowlist: new Set() }).allow).toBe(true);
  });

  it('refuses a finding at the threshold with Harbor message naming the count of findings left', () => {
    const d = decidePull({ policy: on, scan: { status: 'done', findings: [f('CVE-1', 'High'), f('CVE-2', 'Low'), f('CVE-3', 'Critical')] }, allowlist: new Set() });
    expect(d.allow).toBe(false);
    if (d.allow) return;
    expect(d.reason).toBe('vulnerable');
    expect(d.message).toBe(
      `current image with 3 vulnerabilities cannot be pulled due to configured policy in 'Prevent images with vulnerability severity of "High" or higher from running.' ${HARBOR_TAIL}`,
    );
    expect(d.total).toBe(3);
    expect(d.blocking).toBe(2);
    expect(d.ids).toEqual(['CVE-1', 'CVE-3']);
  });

  it('says "vulnerability" for one', () => {
    const d = decidePull({ policy: on, scan: { status: 'done', findings: [f('CVE-1', 'Critical')] }, allowlist: new Set() });
    expect(!d.allow && d.message.startsWith('current image with 1 vulnerability cannot be pulled')).toBe(true);
  });

  it('passes findings below the threshold', () => {
    expect(decidePull({ policy: on, scan: { status: 'done', findings: [f('CVE-1', 'Medium'), f('CVE-2', 'Unknown')] }, allowlist: new Set() }).allow).toBe(true);
    expect(decidePull({ policy: on, scan: { status: 'done', findings: [] }, allowlist: new Set() }).allow).toBe(true);
  });

  it('orders thresholds as Harbor does: None < Unknown < Low < Medium < High < Critical', () => {
    const findings = [f('X', 'Unknown')];
    expect(decidePull({ policy: { ...on, severity: 'None' }, scan: { status: 'done', findings }, allowlist: new Set() }).allow).toBe(false);
    expect(decidePull({ policy: { ...on, severity: 'Unknown' }, scan: { status: 'done', findings }, allowlist: new Set() }).allow).toBe(false);
    expect(decidePull({ policy: { ...on, severity: 'Low' }, scan: { status: 'done', findings }, allowlist: new Set() }).allow).toBe(true);
  });

  it('removes allowlisted findings by id or by any alias, without case', () => {
    const findings = [f('DSA-5555-1', 'Critical', ['CVE-2023-0001']), f('GHSA-xxxx', 'High', ['cve-2023-0002']), f('CVE-2023-0003', 'Low')];
    const d = decidePull({ policy: on, scan: { status: 'done', findings }, allowlist: new Set(['CVE-2023-0001', 'CVE-2023-0002']) });
    expect(d).toEqual({ allow: true, bypassed: ['DSA-5555-1', 'GHSA-xxxx'] });
    const partly = decidePull({ policy: on, scan: { status: 'done', findings }, allowlist: new Set(['CVE-2023-0001']) });
    expect(!partly.allow && partly.total).toBe(2);
  });

  it('refuses an unscanned, pending, running or failed artifact while preventUnscanned holds, and passes it otherwise', () => {
    const none = decidePull({ policy: on, scan: { status: 'none' }, allowlist: new Set() });
    expect(none).toMatchObject({ allow: false, reason: 'unscanned' });
    expect(!none.allow && none.message).toBe(
      `current image without vulnerability scanning cannot be pulled due to configured policy in 'Prevent images with vulnerability severity of "High" or higher from running.' To continue with pull, please contact your project administrator for help.`,
    );
    const pending = decidePull({ policy: on, scan: { status: 'pending' }, allowlist: new Set() });
    expect(pending).toMatchObject({ allow: false, reason: 'scan-pending' });
    expect(!pending.allow && pending.message).toMatch(/^current image with "Pending" status of vulnerability scanning cannot be pulled .*has not finished yet/);
    expect(decidePull({ policy: on, scan: { status: 'running' }, allowlist: new Set() })).toMatchObject({ allow: false, reason: 'scan-pending' });
    const failed = decidePull({ policy: on, scan: { status: 'error', error: 'boom' }, allowlist: new Set() });
    expect(!failed.allow && failed.message).toMatch(/^current image with "Error" status/);
    for (const status of ['none', 'pending', 'error'] as const) {
      expect(decidePull({ policy: { ...on, preventUnscanned: false }, scan: { status }, allowlist: new Set() }).allow).toBe(true);
    }
  });
});

describe('allowlists', () => {
  const now = 1_700_000_000_000;
  it('expires at expires_at (Harbor: expired once now >= expires_at)', () => {
    expect(allowlistActive(list([], null), now)).toBe(true);
    expect(allowlistActive(list([], now / 1000 + 1), now)).toBe(true);
    expect(allowlistActive(list([], now / 1000), now)).toBe(false);
    expect(allowlistActive(list([], now / 1000 - 1), now)).toBe(false);
  });

  it('uses the system list when the project reuses it, else the project list; an expired one applies to nothing', () => {
    const sys = list(['CVE-S'], null);
    const proj = list(['CVE-P'], null, 7);
    expect([...effectiveAllowlist({ reuseSystemAllowlist: true }, sys, proj, now)]).toEqual(['CVE-S']);
    expect([...effectiveAllowlist({ reuseSystemAllowlist: false }, sys, proj, now)]).toEqual(['CVE-P']);
    expect(effectiveAllowlist({ reuseSystemAllowlist: false }, sys, undefined, now).size).toBe(0);
    expect(effectiveAllowlist({ reuseSystemAllowlist: true }, list(['CVE-S'], now / 1000 - 10), proj, now).size).toBe(0);
  });

  it('validates as Harbor does: ids non-empty and unique; expires_at a unix time or null', () => {
    expect(validateAllowlist({ items: [{ cve_id: ' CVE-1 ' }], expiresAt: null })).toEqual({ items: ['CVE-1'], expiresAt: null });
    expect(validateAllowlist({ items: [], expiresAt: 1_800_000_000 })).toEqual({ items: [], expiresAt: 1_800_000_000 });
    expect(validateAllowlist({ items: [], expiresAt: undefined })).toEqual({ items: [], expiresAt: null });
    expect(validateAllowlist({ items: [{ cve_id: '' }], expiresAt: null })).toEqual({ error: 'empty or whitespace-only CVE ID in allowlist' });
    expect(validateAllowlist({ items: [{ cve_id: '  ' }], expiresAt: null })).toHaveProperty('error');
    expect(validateAllowlist({ items: [{}], expiresAt: null })).toHaveProperty('error');
    expect(validateAllowlist({ items: [{ cve_id: 'CVE-1' }, { cve_id: 'cve-1' }], expiresAt: null })).toEqual({ error: 'duplicate CVE ID in allowlist: cve-1' });
    expect(validateAllowlist({ items: [{ cve_id: 'CVE 1' }], expiresAt: null })).toHaveProperty('error');
    for (const bad of [-1, 1.5, '1700000000', 1e15, Number.NaN]) expect(validateAllowlist({ items: [], expiresAt: bad })).toHaveProperty('error');
  });
});

describe('policy from project metadata', () => {
  it('reads Harbor string values with Harbor defaults', () => {
    expect(policyFromMetadata({})).toEqual({ preventVul: false, severity: 'Low', preventUnscanned: true, reuseSystemAllowlist: true });
    expect(policyFromMetadata({ prevent_vul: 'true', severity: 'critical', prevent_vul_unscanned: 'false', reuse_sys_cve_allowlist: 'false' })).toEqual({
      preventVul: true,
      severity: 'Critical',
      preventUnscanned: false,
      reuseSystemAllowlist: false,
    });
    expect(parseSeverityWord('High')).toBe('High');
    expect(parseSeverityWord('negligible')).toBe('Low');
    expect(parseSeverityWord('severe')).toBeUndefined();
  });
});

describe('what the gate judges and who passes it', () => {
  it('judges images and indexes, not signatures, SBOMs or charts', () => {
    expect(isGatedArtifact('application/vnd.oci.image.manifest.v1+json', 'application/vnd.oci.image.config.v1+json')).toBe(true);
    expect(isGatedArtifact('application/vnd.docker.distribution.manifest.v2+json', 'application/vnd.docker.container.image.v1+json')).toBe(true);
    expect(isGatedArtifact('application/vnd.oci.image.index.v1+json', null)).toBe(true);
    expect(isGatedArtifact('application/vnd.docker.distribution.manifest.list.v2+json', null)).toBe(true);
    expect(isGatedArtifact('application/vnd.oci.image.manifest.v1+json', 'application/vnd.dev.cosign.artifact.sig.v1+json')).toBe(false);
    expect(isGatedArtifact('application/vnd.oci.image.manifest.v1+json', 'application/vnd.cncf.helm.config.v1+json')).toBe(false);
    expect(isGatedArtifact('application/vnd.oci.image.manifest.v1+json', 'application/spdx+json')).toBe(false);
    expect(isGatedArtifact('application/vnd.oci.image.manifest.v1+json', 'application/vnd.oci.image.config.v1+json', 'sha256:abc')).toBe(false);
  });

  it('lets only a robot holding repository:scanner-pull bypass, never a system administrator', () => {
    const admin: Principal = { kind: 'user', userId: 1, username: 'admin', sysadmin: true };
    const scanner: Principal = {
      kind: 'robot',
      robotId: 9,
      name: 'robot$scanner',
      permissions: [{ kind: 'project', namespace: 'lib', access: [{ resource: 'repository', action: 'scanner-pull' }] }],
    };
    const puller: Principal = { kind: 'robot', robotId: 8, name: 'robot$ci', permissions: [{ kind: 'project', namespace: 'lib', access: [{ resource: 'repository', action: 'pull' }] }] };
    expect(isScannerPull(admin, 'lib', 'lib/app')).toBe(false);
    expect(isScannerPull({ ...admin, token: { access: [{ type: 'repository', name: 'lib/app', actions: ['pull', 'scanner-pull'] }] } }, 'lib', 'lib/app')).toBe(false);
    expect(isScannerPull(puller, 'lib', 'lib/app')).toBe(false);
    expect(isScannerPull(scanner, 'lib', 'lib/app')).toBe(true);
    expect(isScannerPull(scanner, 'other', 'other/app')).toBe(false);
    const tokened: Principal = { kind: 'robot', robotId: 9, name: 'robot$scanner', permissions: [], token: { access: [{ type: 'repository', name: 'lib/app', actions: ['pull', 'scanner-pull'] }] } };
    expect(isScannerPull(tokened, 'lib', 'lib/app')).toBe(true);
    expect(isScannerPull(tokened, 'lib', 'lib/other')).toBe(false);
  });
});
