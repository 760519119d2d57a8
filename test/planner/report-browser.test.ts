import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderHtml } from '../../src/planner/report-html.js';
import type { PlanSummary } from '../../src/planner/summary.js';
import { requireProgram } from '../helpers/requirements.js';
import { NASTY_USERS, sampleSummary } from './sample-summary.js';

const CHROMIUM = requireProgram({ command: 'chromium', neededBy: 'the HTML report browser test' });

/** Flags that work headless on a machine without network or a session bus. */
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** Text of an element's inner HTML as the browser serialised it: tags dropped, entities decoded. */
function text(html: string): string {
  return html
    .replace(/<[^>]*>/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&nbsp;/g, '\u00a0')
    .replace(/&amp;/g, '&');
}

/** The table rows (cells as text) of the section whose heading starts with `heading`. */
function tableRows(dom: string, heading: string): string[][] {
  const start = dom.indexOf(`<h2>${heading}`);
  if (start < 0) return [];
  const section = dom.slice(start, dom.indexOf('</section>', start));
  const body = /<tbody>([\s\S]*?)<\/tbody>/.exec(section)?.[1] ?? '';
  return [...body.matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map((row) =>
    [...(row[1] ?? '').matchAll(/<td[^>]*>([\s\S]*?)<\/td>/g)].map((cell) => text(cell[1] ?? '')),
  );
}

/** The summary cards as { key: [value, detail] }. */
function cards(dom: string): Record<string, [string, string]> {
  const out: Record<string, [string, string]> = {};
  const card = /<div class="k">([^<]*)<\/div><div class="v">([^<]*)<\/div><div class="d">([^<]*)<\/div>/g;
  for (const m of dom.matchAll(card)) out[text(m[1] ?? '')] = [text(m[2] ?? ''), text(m[3] ?? '')];
  return out;
}

const n = (value: number) => value.toLocaleString('en-US');

/**
 * Opens the HTML report in headless Chromium and reads back what the page says (the DOM Chromium
 * builds from it, `--dump-dom`): the totals, the users over limits, the rejected rows, and that the
 * hostile user IDs stayed text. Also saves a PNG screenshot, to look at by eye; it goes to
 * $CGSYNC_SCREENSHOT_DIR when set (else a temporary folder, removed afterwards).
 */
describe.skipIf(CHROMIUM === undefined)('HTML report in a browser', () => {
  const summary: PlanSummary = sampleSummary();
  let work: string;
  let url: string;
  const run = (args: readonly string[]) =>
    promisify(execFile)(
      CHROMIUM as string,
      [...FLAGS, `--user-data-dir=${join(work, `profile-${args[0]?.slice(2, 8)}`)}`, ...args, url],
      { timeout: 45_000, maxBuffer: 16 * 1024 * 1024 },
    );

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'cgsync-report-'));
    const html = join(work, 'report.html');
    await writeFile(html, renderHtml(summary));
    url = pathToFileURL(html).href;
  });
  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it('shows the totals, the users over limits and the rejected rows, hostile names as text', {
    timeout: 90_000,
  }, async () => {
    const dom = (await run(['--dump-dom'])).stdout;
    expect(dom).toContain('<h1>cgsync plan</h1>');
    // Self-contained and inert: no script element survived parsing, whatever the user IDs held.
    expect(dom).not.toMatch(/<script[\s>]/i);

    const c = cards(dom);
    const writes =
      summary.calls.create_contact_group +
      summary.calls.update_contact_group +
      summary.calls.del_contact_group;
    expect(c.Users?.[0]).toBe(n(summary.users));
    expect(c.Users?.[1]).toContain(`${n(summary.usersOverLimits)} over limits`);
    expect(c.Users?.[1]).toContain(`${n(summary.rejectedRows.count)} rows rejected`);
    expect(c.Groups).toEqual([
      n(summary.groups.desired),
      `+${n(summary.groups.created)} to create · −${n(summary.groups.deleted)} to delete`,
    ]);
    expect(c.Memberships?.[0]).toBe(n(summary.memberships.desired));
    expect(c.Memberships?.[1]).toContain(
      `+${n(summary.memberships.added)} · −${n(summary.memberships.removed)}`,
    );
    expect(c.Writes?.[0]).toBe(n(writes));
    expect(c.Writes?.[1]).toContain(`at ${n(summary.rate)} calls/s`);

    // Users over limits: the first `listLimit` of them, in the summary's order, with their numbers.
    expect(dom).toContain(`<h2>Users over limits (${n(summary.usersOverLimits)})</h2>`);
    const over = tableRows(dom, 'Users over limits');
    expect(over.length).toBe(Math.min(summary.violations.first.length, summary.usersOverLimits));
    expect(over.length).toBeGreaterThan(0);
    summary.violations.first.forEach((v, i) => {
      const row = over[i] as string[];
      // Control characters are shown escaped (\u{a}), never raw.
      expect(row[0]).toBe(
        [...v.user]
          .map((ch) => {
            const code = ch.codePointAt(0) as number;
            return code < 0x20 || code === 0x7f ? `\\u{${code.toString(16)}}` : ch;
          })
          .join(''),
      );
      expect(row.slice(1, 4)).toEqual([v.limit, n(v.count), n(v.max)]);
    });

    const rejected = tableRows(dom, 'Rejected rows');
    expect(rejected.map((r) => r[0])).toEqual(summary.rejectedRows.first.map((r) => String(r.line)));
    expect(rejected.map((r) => r[3])).toEqual(summary.rejectedRows.first.map((r) => r.value ?? ''));

    // The hostile user IDs are on the page as the text they are.
    const removals = tableRows(dom, 'Removals');
    expect(removals.map((r) => r[0])).toContain(NASTY_USERS[0]);
    // Biggest removals first: the hostile name loses the most in the sample.
    expect(removals[0]?.[0]).toBe(NASTY_USERS[0]);
    const removed = removals.map((r) => Number((r[1] ?? '').replace(/,/g, '')));
    expect(removed).toEqual([...removed].sort((a, b) => b - a));
  });

  it('renders offline to a 1200×1600 screenshot', { timeout: 90_000 }, async () => {
    const outDir = process.env.CGSYNC_SCREENSHOT_DIR ?? work;
    await mkdir(outDir, { recursive: true });
    const png = join(outDir, 'report.png');
    await rm(png, { force: true });
    await run([`--screenshot=${png}`, '--window-size=1200,1600']);
    const image = await readFile(png);
    expect(image.subarray(1, 4).toString('latin1')).toBe('PNG');
    expect([image.readUInt32BE(16), image.readUInt32BE(20)]).toEqual([1200, 1600]);
    expect(image.length).toBeGreaterThan(20_000);
    console.info(`report-browser: screenshot at ${png}`);
  });
});
