import { beforeEach, describe, expect, it } from 'vitest';
import {
  escapeHtml,
  escapeMarkdown,
  formatCount,
  formatDuration,
  htmlText,
  plural,
  revealControls,
  signedCount,
} from '../../src/planner/report-format.js';
import { renderHtml } from '../../src/planner/report-html.js';
import { renderMarkdown } from '../../src/planner/report-markdown.js';
import { renderText } from '../../src/planner/report-text.js';
import { SummaryBuilder } from '../../src/planner/summary.js';
import { NASTY_USERS, sampleSummary } from './sample-summary.js';

// Each test builds the summary and renders it itself (not once for the file): Stryker then knows
// which test covers which line of the planner and the renderers (no "static" mutants).
const summary = () => sampleSummary({ listLimit: 300 });

describe('report helpers', () => {
  it('formats durations', () => {
    expect([0, 0.04, 9.95, 12.2, 200, 7265].map(formatDuration)).toEqual([
      '0.0 s',
      '0.1 s',
      '10.0 s',
      '13 s',
      '3 min 20 s',
      '2 h 01 min',
    ]);
  });

  it('formats durations at the edges of each unit, counts with separators, signs and plurals', () => {
    expect(
      [9.9, 9.91, 10, 10.2, 59, 59.2, 60, 61, 3599, 3599.5, 3600, 3661, 36_000].map(formatDuration),
    ).toEqual([
      '9.9 s',
      '10.0 s',
      '10 s',
      '11 s',
      '59 s',
      '1 min 00 s',
      '1 min 00 s',
      '1 min 01 s',
      '59 min 59 s',
      '1 h 00 min',
      '1 h 00 min',
      '1 h 01 min',
      '10 h 00 min',
    ]);
    expect([0, 999, 1000, 1234567, 1234.56].map(formatCount)).toEqual([
      '0',
      '999',
      '1,000',
      '1,234,567',
      '1,234.6',
    ]);
    expect([signedCount(0, '+'), signedCount(0, '−'), signedCount(1500, '+'), signedCount(2, '−')]).toEqual([
      '0',
      '0',
      '+1,500',
      '−2',
    ]);
    expect([plural(0, 'group'), plural(1, 'group'), plural(2, 'user'), plural(1000, 'call')]).toEqual([
      '0 groups',
      '1 group',
      '2 users',
      '1,000 calls',
    ]);
  });

  it('escapes every character of each set, and nothing else', () => {
    expect(escapeHtml(`&<>"'a é\\\``)).toBe('&amp;&lt;&gt;&quot;&#39;a é\\`');
    expect(escapeMarkdown('\\`*_[]|~&<>')).toBe('\\\\\\`\\*\\_\\[\\]\\|\\~&amp;&lt;&gt;');
    expect(escapeMarkdown('a\r\nb\rc\nd#+-.!(){}')).toBe('a↵b↵c↵d#+-.!(){}');
    // Each end of each range of controls and overrides is revealed; the characters beside them are not.
    const revealed = ['\u0000', '\u001f', '\u007f', '\u009f', '\u202a', '\u202e', '\u2066', '\u2069'];
    expect(revealed.map(revealControls)).toEqual([
      '\\u{0}',
      '\\u{1f}',
      '\\u{7f}',
      '\\u{9f}',
      '\\u{202a}',
      '\\u{202e}',
      '\\u{2066}',
      '\\u{2069}',
    ]);
    const kept = ' ~\u00a0\u2029\u202f\u2065\u206a😀';
    expect(revealControls(kept)).toBe(kept);
    expect(htmlText('<\u001b>')).toBe('&lt;\\u{1b}&gt;');
  });

  it('escapes HTML, Markdown and terminal text', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
    expect(escapeMarkdown('a|b `c` *d*\n<e>')).toBe('a\\|b \\`c\\` \\*d\\*↵&lt;e&gt;');
    expect(revealControls('red\u001b[31m\u202eok\n')).toBe('red\\u{1b}[31m\\u{202e}ok\\u{a}');
  });
});

describe('renderText', () => {
  let text: string;
  beforeEach(() => {
    text = renderText(summary());
  });

  it('shows the totals, calls per endpoint and the estimate', () => {
    expect(text).toContain(`cgsync plan: mirror mode, current state read from the app`);
    expect(text).toMatch(/users {8}240: \d+ with changes, \d+ unchanged, \d+ over limits/);
    expect(text).toMatch(/create_contact_group +\d+/);
    expect(text).toContain('at 200 calls/s per endpoint');
    expect(text).toContain('Rejected rows: 3');
    expect(text).toContain('line 7       type-invalid');
    expect(text).toMatch(/Users over limits: \d+/);
    expect(text).toContain('Groups per user');
  });

  it('lets no control character or bidi override of user data reach the terminal', () => {
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the point of the test.
    expect(text.replace(/\n/g, '')).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
    expect(text).toContain('line\\u{a}break\\u{1b}[31m');
  });
});

describe('renderMarkdown', () => {
  let markdown: string;
  beforeEach(() => {
    markdown = renderMarkdown(summary());
  });

  it('keeps every table row at its column count whatever the names hold', () => {
    const cells = (row: string) => row.split(/(?<!\\)\|/).length - 2;
    const lines = markdown.split('\n');
    let columns = 0;
    for (const line of lines) {
      if (!line.startsWith('|')) {
        columns = 0;
        continue;
      }
      if (columns === 0) columns = cells(line);
      expect(cells(line), line).toBe(columns);
    }
    expect(markdown).toContain('pipe\\|user\\`tick\\`');
    expect(markdown).toContain('&lt;script&gt;');
    expect(markdown).not.toContain('<script>');
    expect(markdown).toContain('line↵break\\u{1b}\\[31m');
  });

  it('lists rejected rows with line numbers and removals in mirror mode', () => {
    expect(markdown).toContain('## Rejected rows: 3');
    expect(markdown).toContain('| 7 | type-invalid |');
    expect(markdown).toMatch(/## Removals \(mirror\): \d+ users/);
  });
});

describe('renderHtml', () => {
  let html: string;
  beforeEach(() => {
    html = renderHtml(summary());
  });

  it('is one self-contained page: no scripts, no external assets', () => {
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).not.toMatch(
      /<script|<link|<img|<iframe|src=|@import|url\(|https?:\/\/(?!www\.w3\.org\/2000\/svg)/i,
    );
    expect(html.match(/<svg /g)?.length).toBe(3);
  });

  it('escapes every user name', () => {
    for (const user of NASTY_USERS.slice(0, 3)) expect(html).toContain(htmlText(user));
    expect(html).toContain('line\\u{a}break\\u{1b}[31m');
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the point of the test.
    expect(html.replace(/\n/g, '')).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
    expect(html).toContain('&lt;b&gt;very long name&lt;/b&gt;');
  });

  it('shows rejected rows with line numbers, users over limits by name, and the counts', () => {
    expect(html).toContain('Rejected rows (3)');
    expect(html).toMatch(/<td class="num">7<\/td><td>type-invalid<\/td>/);
    expect(html).toMatch(/Users over limits \(\d+\)/);
    expect(html).toContain('user user005 has 21 groups, the limit is 20');
  });

  it('says when lists are cut and when they are empty', () => {
    const small = renderHtml(sampleSummary({ listLimit: 2 }));
    expect(small).toMatch(/First 2 of \d+ shown/);
    const empty = renderHtml(new SummaryBuilder({ mode: 'merge', assumeEmpty: true }).result());
    expect(empty).toContain('No row was rejected.');
    expect(empty).toContain('No user is over a limit.');
    expect(empty).not.toContain('Removals');
  });
});
