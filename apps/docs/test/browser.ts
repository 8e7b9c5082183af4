/** Launching Debian's Chromium for the e2e test (playwright-core drives it; nothing is downloaded). */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';

export const CHROMIUM = process.env.STADE_CHROMIUM ?? '/usr/bin/chromium';

/** Why the browser cannot run here, or null when it can. */
export function chromiumMissing(): string | null {
  if (existsSync(CHROMIUM)) return null;
  return `${CHROMIUM} is not installed: the docs e2e test needs Debian's chromium (run \`sudo bash .ci/apt.sh\`, i.e. apt-get install -y chromium)`;
}

/** A headless Chromium with a fresh profile; `close()` also removes the profile folder. */
export async function launch(): Promise<{ context: BrowserContext; close: () => Promise<void> }> {
  const profile = mkdtempSync(join(tmpdir(), 'stade-docs-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
