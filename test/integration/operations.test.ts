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

describe('operations endpoints', () => {
  it('ping answers Pong', async () => {
    const res = await fetch(`${s.url}/api/v2.0/ping`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('Pong');
  });

  it('health reports the database and the storage', async () => {
    const res = await fetch(`${s.url}/api/v2.0/health`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { status: string; components: { name: string; status: string }[] };
    expect(body.status).toBe('healthy');
    expect(body.components.map((c) => c.name).sort()).toEqual(['database', 'storage']);
  });

  it('gives every response a request id, and keeps one the client sent', async () => {
    const a = await fetch(`${s.url}/v2/`);
    expect(a.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const b = await fetch(`${s.url}/v2/`, { headers: { 'x-request-id': 'trace-123' } });
    expect(b.headers.get('x-request-id')).toBe('trace-123');
  });

  it('exports Prometheus request counts and durations by operation', async () => {
    await admin.pushImage('library/metrics', 'v1');
    await admin.fetch('/v2/library/metrics/manifests/v1', { method: 'HEAD' });
    const text = await (await fetch(`${s.url}/metrics`)).text();
    expect(text).toMatch(/berth_http_requests_total\{route="v2\.manifest\.head",method="HEAD",status="200"\} \d+/);
    expect(text).toMatch(/berth_http_request_duration_seconds_bucket\{le="[^"]+",route="v2\.manifest\.put",method="PUT"\} \d+/);
    expect(text).toContain('berth_process_resident_memory_bytes');
  });

  it('describes itself in Harbor’s systeminfo shape', async () => {
    const info = (await (await fetch(`${s.url}/api/v2.0/systeminfo`)).json()) as Record<string, unknown>;
    expect(info['harbor_version']).toMatch(/^berth-/);
    expect(info['registry_url']).toBe(s.host);
  });
});
