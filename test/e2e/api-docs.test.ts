import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../helpers/browser.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

/** The browsable API page at /api/v2.0/docs, in a real browser: it reads ./openapi.json and nothing else. */

let s: TestServer;
let browser: Browser;

beforeAll(async () => {
  s = await startTestServer();
  browser = await launchChromium();
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await s?.stop();
});

describe('GET /api/v2.0/docs in Chromium', () => {
  it('lists every operation of the OpenAPI document, grouped by tag, and filters them', async () => {
    const doc = (await (await fetch(`${s.url}/api/v2.0/openapi.json`)).json()) as { openapi: string; paths: Record<string, Record<string, unknown>> };
    expect(doc.openapi).toMatch(/^3\.1\./);
    const operations = Object.values(doc.paths).reduce((n, p) => n + Object.keys(p).length, 0);
    const page = await browser.newPage();
    const elsewhere: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith(s.url)) elsewhere.push(r.url());
    });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${s.url}/api/v2.0/docs`);
    await page.waitForSelector('details');
    expect(await page.locator('details').count()).toBe(operations);
    expect(await page.locator('h2', { hasText: 'robot' }).count()).toBeGreaterThan(0);
    await page.fill('#filter', '/robots/{robot_id}');
    await page.waitForFunction('document.querySelectorAll("details").length < 10');
    const shown = await page.locator('details summary .p').allTextContents();
    expect(shown.length).toBeGreaterThan(0);
    for (const p of shown) expect(p).toContain('/robots/{robot_id}');
    // an operation opens to its parameters and responses
    await page.locator('details summary').first().click();
    await expect.poll(() => page.locator('details[open] table').count()).toBeGreaterThan(0);
    expect(errors).toEqual([]);
    expect(elsewhere).toEqual([]);
  });
});
