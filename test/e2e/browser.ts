import { existsSync } from 'node:fs';
import { type Browser, chromium, type Page } from 'playwright-core';

/**
 * Real-browser support for end-to-end tests: Debian's Chromium driven by playwright-core (which downloads
 * no browser of its own). Set CHROMIUM_BIN to use another build.
 */

export const CHROMIUM_PATH = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';

/** A skip message when no Chromium is installed, else false (for `describe(..., { skip })`). */
export const chromiumSkip: string | false = existsSync(CHROMIUM_PATH) ? false : `chromium not installed (apt-get install chromium, or set CHROMIUM_BIN; looked at ${CHROMIUM_PATH})`;

/** Headless Chromium without sandbox, GPU, QUIC or any background traffic of its own. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    timeout: 30_000,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/**
 * Collects uncaught exceptions thrown in the page (console noise such as failed requests is not counted),
 * so a test can assert the UI ran without script errors.
 */
export function collectPageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(`${page.url()}: ${error.message}`));
  return errors;
}

/** How far the page scrolls sideways: 0 when nothing is wider than the viewport. */
export function horizontalOverflow(page: Page): Promise<number> {
  // A string, because the test's TypeScript has no DOM types; it runs in the page.
  return page.evaluate<number>('document.documentElement.scrollWidth - document.documentElement.clientWidth');
}

/** Opens `url`, signs in through the sign-in form and waits until the app shows the signed-in header. */
export async function signIn(page: Page, url: string, email: string, password: string): Promise<void> {
  await page.goto(url);
  await page.locator('input[name=email]').fill(email);
  await page.locator('input[name=password]').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}
