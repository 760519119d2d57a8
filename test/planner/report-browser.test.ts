import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { renderHtml } from '../../src/planner/report-html.js';
import { sampleSummary } from './sample-summary.js';

const CHROMIUM = '/usr/bin/chromium';
const available = existsSync(CHROMIUM);
if (!available) {
  console.warn(
    `report-browser: ${CHROMIUM} not found, skipping the screenshot (apt-get install -y chromium)`,
  );
}

/**
 * Opens the HTML report in headless Chromium and saves a PNG screenshot, to look at by eye.
 * The PNG goes to $CGSYNC_SCREENSHOT_DIR when set (else a temporary folder, removed afterwards).
 */
describe('HTML report in a browser', () => {
  it.skipIf(!available)(
    'renders offline in headless Chromium to a 1200×1600 screenshot',
    { timeout: 90_000 },
    async () => {
      const work = await mkdtemp(join(tmpdir(), 'cgsync-report-'));
      try {
        const outDir = process.env.CGSYNC_SCREENSHOT_DIR ?? work;
        await mkdir(outDir, { recursive: true });
        const html = join(work, 'report.html');
        const png = join(outDir, 'report.png');
        await rm(png, { force: true });
        await writeFile(html, renderHtml(sampleSummary()));
        await promisify(execFile)(
          CHROMIUM,
          [
            '--headless',
            '--no-sandbox',
            '--disable-gpu',
            '--disable-background-networking',
            '--disable-component-update',
            '--disable-sync',
            '--no-first-run',
            `--user-data-dir=${join(work, 'profile')}`,
            `--screenshot=${png}`,
            '--window-size=1200,1600',
            pathToFileURL(html).href,
          ],
          { timeout: 80_000 },
        );
        const image = await readFile(png);
        expect(image.subarray(1, 4).toString('latin1')).toBe('PNG');
        expect([image.readUInt32BE(16), image.readUInt32BE(20)]).toEqual([1200, 1600]);
        expect(image.length).toBeGreaterThan(20_000);
        console.info(`report-browser: screenshot at ${png}`);
      } finally {
        await rm(work, { recursive: true, force: true });
      }
    },
  );
});
