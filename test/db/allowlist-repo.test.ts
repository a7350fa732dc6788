import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Metadata } from '../../src/ports/metadata.js';
import { openTestMetadata } from '../helpers/metadata.js';

/** The CVE allowlist repository and project metadata on both dialects. */
for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`cve allowlists and project metadata on ${dialect}`, () => {
    let md: Metadata;
    let cleanup: () => Promise<void>;
    beforeAll(async () => {
      ({ metadata: md, cleanup } = await openTestMetadata(dialect, { poolSize: 8 }));
    });
    afterAll(() => cleanup());

    it('keeps one system list and one list per project, replaced in place', async () => {
      expect(await md.cveAllowlists.get(null)).toBeUndefined();
      const p = await md.projects.create({ name: 'p1', public: false, ownerId: null, now: 1 });
      const sys = await md.cveAllowlists.set(null, { items: ['CVE-1'], expiresAt: null }, 10);
      const own = await md.cveAllowlists.set(p.id, { items: ['CVE-2', 'CVE-3'], expiresAt: 2_000_000_000 }, 11);
      expect(sys).toMatchObject({ projectId: null, items: ['CVE-1'], expiresAt: null, createdAt: 10, updatedAt: 10 });
      expect(own).toMatchObject({ projectId: p.id, items: ['CVE-2', 'CVE-3'], expiresAt: 2_000_000_000 });
      const again = await md.cveAllowlists.set(null, { items: [], expiresAt: 5 }, 20);
      expect(again).toMatchObject({ id: sys.id, items: [], expiresAt: 5, createdAt: 10, updatedAt: 20 });
      expect((await md.cveAllowlists.get(p.id))?.items).toEqual(['CVE-2', 'CVE-3']);
    });

    it('makes one row of concurrent first writes', async () => {
      const p = await md.projects.create({ name: 'p2', public: false, ownerId: null, now: 1 });
      const all = await Promise.all(Array.from({ length: 8 }, (_, i) => md.cveAllowlists.set(p.id, { items: [`CVE-${i}`], expiresAt: null }, 100 + i)));
      expect(new Set(all.map((l) => l.id)).size).toBe(1);
    });

    it('drops a project’s list and metadata with the project', async () => {
      const p = await md.projects.create({ name: 'p3', public: false, ownerId: null, now: 1 });
      await md.cveAllowlists.set(p.id, { items: ['CVE-9'], expiresAt: null }, 1);
      await md.projects.setMetadata(p.id, { prevent_vul: 'true', severity: 'high' });
      await md.projects.setMetadata(p.id, { severity: 'critical' });
      expect(await md.projects.metadataOf(p.id)).toEqual({ prevent_vul: 'true', severity: 'critical' });
      expect(await md.projects.deleteIfEmpty(p.id)).toBe(true);
      expect(await md.cveAllowlists.get(p.id)).toBeUndefined();
      expect(await md.projects.metadataOf(p.id)).toEqual({});
    });
  });
}
