import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

// Headless Chromium for the console's tests and screenshots: Debian's `chromium` package driven by
// playwright-core (Playwright's own browser downloads can't be used here). Each launch gets a fresh,
// throw-away profile from Playwright.

export const CHROMIUM_PATH = process.env.HOOKWISE_CHROMIUM_PATH ?? '/usr/bin/chromium';

const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
];

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `Chromium is not installed at ${CHROMIUM_PATH}; the console's browser tests and screenshots need it. ` +
        'On Debian: apt-get install -y chromium (or set HOOKWISE_CHROMIUM_PATH to another Chromium binary).',
    );
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: ARGS, timeout: 30_000 });
}
