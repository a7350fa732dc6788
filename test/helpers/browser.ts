import { type Browser, chromium } from 'playwright-core';

/** Debian's Chromium, headless, driven by playwright-core (scripts/install-test-deps.sh installs it). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env['BERTH_TEST_CHROMIUM'] ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}
