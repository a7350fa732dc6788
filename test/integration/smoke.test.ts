import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from '../helpers/registry-client.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let s: TestServer;
let admin: RegistryClient;
beforeAll(async () => {
  s = await startTestServer();
  admin = new RegistryClient(s.url, s.adminBasic);
});
afterAll(() => s.stop());

describe('a pushed image', () => {
  it('is pulled back byte for byte by tag and by digest', async () => {
    const { digest, body } = await admin.pushImage('library/smoke', 'v1');
    for (const ref of ['v1', digest]) {
      const res = await admin.fetch(`/v2/library/smoke/manifests/${ref}`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
      expect(res.status).toBe(200);
      expect(res.headers.get('docker-content-digest')).toBe(digest);
      expect(await res.text()).toBe(body);
    }
  });
});
