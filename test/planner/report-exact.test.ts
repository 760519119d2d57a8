import { describe, expect, it } from 'vitest';
import { renderHtml } from '../../src/planner/report-html.js';
import { renderMarkdown } from '../../src/planner/report-markdown.js';
import { renderText } from '../../src/planner/report-text.js';
import { SummaryBuilder } from '../../src/planner/summary.js';
import { everySection } from './sample-summary.js';

// What a user reads, character for character: the three reports of a small summary written by hand
// (every section, lists cut short and shown whole, zero and non-zero counts), and of an empty plan.

const lines = (...text: string[]) => `${text.join('\n')}\n`;

const markdownHeader = {
  input: 'in|put.csv',
  sha256: 'ab'.repeat(32),
  toolVersion: 'cgsync 0.1.0',
  madeAt: '2026-01-02T03:04:05.000Z',
};
const htmlHeader = {
  ...markdownHeader,
  input: 'in<put>.csv',
  target: 'SDKAppID 1400000001 at adminapisgp.im.qcloud.com',
};

describe('renderText, exactly', () => {
  it('every section', () => {
    expect(renderText(everySection())).toBe(
      lines(
        'cgsync plan: mirror mode, current state read from the app',
        '  users        1,234: 3 with changes, 1,230 unchanged, 1 over limits',
        '               1 user with rejected rows planned as merge, not mirror',
        '               2 users with duplicate group names in the app',
        '  groups       12 desired: 2 to create, 2 to delete',
        '  memberships  1,500 desired: 121 to add, 3 to remove, 7 unchanged (10 in the app)',
        '  calls        3,003 writes',
        '    create_contact_group            2  0.1 s',
        '    update_contact_group        3,000  15 s',
        '    del_contact_group               1  0.1 s',
        '    get_contact_group               4  0.1 s',
        "  estimated    1 min 15 s at 200 calls/s per endpoint, 50 ms latency, 60 users in flight, at most the 180 calls/s the plan's reads reached: reading every user first 5.0 s, then the writes 1 min 10 s; retries not counted",
        '',
        'Rejected rows: 3 (first 2 of 3 shown)',
        '  line 7       type-invalid           line 7: Type must be 1, 2, c2c or group, got "3"',
        '  line 12      peer-missing           line 12: Type 1 needs To_Account',
        '',
        'Users over limits: 1',
        '  user carol has 21 groups, the limit is 20',
        '',
        'Users whose state could not be read (not planned): 2 (first 1 of 2 shown)',
        '  erin: 70107 user not found\\u{1b}[0m',
        '',
        'Group names over 32 bytes: 3, 1 updated by this plan (first 2 of 3 shown)',
        '  (the update page allows 32 bytes in OldGroupName: where the service reads it so, these groups cannot be updated)',
        '  alice / a long <name> (35 bytes): updated by this plan',
        '  bob / another long name (40 bytes): at risk in a later sync',
        '',
        'Would remove: 3 memberships and delete 2 groups, from 3 users',
        '  bob: -2 memberships, -1 group',
        '  a|b: -1 membership',
        '  carol: -1 group',
        '',
        'Largest changes (first 2 of 3 shown)',
        '  dan: +120 memberships',
        '  bob: +1 group, -2 memberships, -1 group',
        '',
        'Groups per user',
        '    0 │ 0',
        `    1 │${'█'.repeat(40)} 1,230`,
        `  21+ │${'█'.repeat(1)} 4`,
        '',
        'Conversations per user',
        `     0 │${'█'.repeat(1)} 1`,
        `  1–10 │${'█'.repeat(40)} 1,233`,
      ),
    );
  });
});

describe('renderMarkdown, exactly', () => {
  it('every section, with the header (no target configured)', () => {
    expect(renderMarkdown(everySection(), markdownHeader)).toBe(
      lines(
        '# cgsync plan',
        '',
        '| | |',
        '|---|---|',
        '| input | in\\|put.csv |',
        '| sha256 | abababababababababababababababababababababababababababababababab |',
        '| target | none configured (the app was not read) |',
        '| made | 2026-01-02T03:04:05.000Z |',
        '| by | cgsync 0.1.0 |',
        '',
        'mirror mode, current state read from the app.',
        '',
        '| | total | details |',
        '|---|---:|---|',
        '| users | 1,234 | 3 with changes, 1,230 unchanged, 1 over limits, 1 downgraded to merge, 2 with duplicate group names |',
        '| groups | 12 | 2 to create, 2 to delete |',
        '| memberships | 1,500 | 121 to add, 3 to remove, 7 unchanged, 10 in the app |',
        "| writes | 3,003 | estimated 1 min 15 s at 200 calls/s per endpoint, 50 ms latency, 60 users in flight, at most the 180 calls/s the plan's reads reached: reading every user first 5.0 s, then the writes 1 min 10 s; retries not counted |",
        '',
        '## Calls per endpoint',
        '',
        '| endpoint | calls | time at the rate |',
        '|---|---:|---:|',
        '| `create_contact_group` | 2 | 0.1 s |',
        '| `update_contact_group` | 3,000 | 15 s |',
        '| `del_contact_group` | 1 | 0.1 s |',
        '| `get_contact_group` | 4 | 0.1 s |',
        '',
        'Endpoints run in parallel, each at the rate; the calls in flight per latency cap them too, and in mirror mode every user is read before the first write.',
        '',
        '## Rejected rows: 3',
        '',
        'First 2 of 3:',
        '',
        '| line | rule | reason |',
        '|---:|---|---|',
        '| 7 | type-invalid | line 7: Type must be 1, 2, c2c or group, got "3" |',
        '| 12 | peer-missing | line 12: Type 1 needs To\\_Account |',
        '',
        '## Users over limits: 1',
        '',
        '| user | limit | count | max | message |',
        '|---|---|---:|---:|---|',
        '| carol | groups | 21 | 20 | user carol has 21 groups, the limit is 20 |',
        '',
        '## Users whose state could not be read: 2',
        '',
        'Not planned and not counted above: the service refused to give their groups (50001: not imported).',
        '',
        'First 1 of 2:',
        '',
        '| user | code | message |',
        '|---|---|---|',
        '| erin | 70107 | user not found\\u{1b}\\[0m |',
        '',
        '## Group names over 32 bytes: 3',
        '',
        'The update page allows 32 bytes in OldGroupName, which every update names: where the service reads it so, these groups cannot be updated. 1 are updated by this plan; the others are at risk in a later sync. `--group-name-limit 32` rejects such rows up front.',
        '',
        'First 2 of 3:',
        '',
        '| user | group | bytes | update |',
        '|---|---|---:|---|',
        '| alice | a long &lt;name&gt; | 35 | in this plan |',
        '| bob | another long name | 40 | at risk later |',
        '',
        '## Removals (mirror): 3 users',
        '',
        '| user | memberships removed | groups deleted |',
        '|---|---:|---:|',
        '| bob | 2 | 1 |',
        '| a\\|b | 1 | 0 |',
        '| carol | 0 | 1 |',
        '',
        '## Largest changes: 3 users with changes',
        '',
        'First 2 of 3:',
        '',
        '| user | groups created | memberships added | memberships removed | groups deleted |',
        '|---|---:|---:|---:|---:|',
        '| dan | 0 | +120 | 0 | 0 |',
        '| bob | +1 | 0 | −2 | −1 |',
        '',
        '## Groups per user',
        '',
        '| groups | users |',
        '|---:|---:|',
        '| 0 | 0 |',
        '| 1 | 1,230 |',
        '| 21+ | 4 |',
        '',
        '## Conversations per user',
        '',
        '| conversations | users |',
        '|---:|---:|',
        '| 0 | 1 |',
        '| 1–10 | 1,233 |',
      ),
    );
  });
});

describe('renderHtml, exactly', () => {
  it('every section, with the header', () => {
    const html = renderHtml(everySection(), htmlHeader);
    const style = html.indexOf('</style>');
    expect(html.slice(0, html.indexOf('<style>'))).toBe(
      lines(
        '<!doctype html>',
        '<html lang="en">',
        '<head>',
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<title>cgsync plan</title>',
      ),
    );
    expect(html.slice(html.indexOf('<style>'), style)).toContain(
      '.card.bad{border-color:#cf222e;background:#ffebe9}',
    );
    expect(html.slice(style)).toBe(
      lines(
        '</style>',
        '</head>',
        '<body>',
        '<main>',
        '<h1>cgsync plan</h1><p class="sub">mirror mode, current state read from the app</p>',
        '<section class="facts"><table><tbody><tr><th>input</th><td>in&lt;put&gt;.csv</td></tr><tr><th>sha256</th><td>abababababababababababababababababababababababababababababababab</td></tr><tr><th>target</th><td>SDKAppID 1400000001 at adminapisgp.im.qcloud.com</td></tr><tr><th>made</th><td>2026-01-02T03:04:05.000Z</td></tr><tr><th>by</th><td>cgsync 0.1.0</td></tr></tbody></table></section>',
        '<div class="cards"><div class="card bad"><div class="k">Users</div><div class="v">1,234</div><div class="d">3 with changes · 1,230 unchanged · 1 over limits · 3 rows rejected · 1 planned as merge (rejected rows) · 2 with duplicate group names</div></div><div class="card"><div class="k">Groups</div><div class="v">12</div><div class="d">+2 to create · −2 to delete</div></div><div class="card warn"><div class="k">Memberships</div><div class="v">1,500</div><div class="d">+121 · −3 · 7 unchanged</div></div><div class="card"><div class="k">Writes</div><div class="v">3,003</div><div class="d">about 1 min 15 s at 200 calls/s, 5.0 s of it reading</div></div></div>',
        '<section><h2>Calls per endpoint</h2><svg viewBox="0 0 1000 144" role="img" aria-label="Calls per endpoint with the time each takes at the rate" xmlns="http://www.w3.org/2000/svg"><title>Calls per endpoint with the time each takes at the rate</title><text x="0" y="23">create_contact_group</text><rect x="200" y="8" width="2.0" height="22" rx="3" fill="#15803d"/><text x="210.0" y="23">2 calls · 0.1 s</text><text x="0" y="57">update_contact_group</text><rect x="200" y="42" width="560.0" height="22" rx="3" fill="#1d4ed8"/><text x="768.0" y="57">3,000 calls · 15 s</text><text x="0" y="91">del_contact_group</text><rect x="200" y="76" width="2.0" height="22" rx="3" fill="#b91c1c"/><text x="210.0" y="91">1 call · 0.1 s</text><text x="0" y="125">get_contact_group</text><rect x="200" y="110" width="2.0" height="22" rx="3" fill="#6b7280"/><text x="210.0" y="125">4 calls · 0.1 s</text></svg><p class="note">Estimated 1 min 15 s at 200 calls/s per endpoint, 50 ms latency, 60 users in flight, at most the 180 calls/s the plan&#39;s reads reached: reading every user first 5.0 s, then the writes 1 min 10 s; retries not counted. Endpoints run in parallel, each at the rate; the calls in flight per latency cap them too, and in mirror mode every user is read before the first write.</p></section>',
        '<section><h2>Groups per user</h2><svg viewBox="0 0 1000 250" role="img" aria-label="Groups per user" xmlns="http://www.w3.org/2000/svg"><title>Groups per user</title><line x1="56" y1="202" x2="988" y2="202" stroke="#8c959f"/><line x1="56" y1="22" x2="988" y2="22" stroke="#d8dee4" stroke-dasharray="4 4"/><text class="muted" x="48" y="26" text-anchor="end">1,230</text><text class="muted" x="48" y="206" text-anchor="end">0</text><text class="muted" x="522" y="244" text-anchor="middle">users by groups in the CSV</text><rect x="93.3" y="202.0" width="236.1" height="0.0" rx="2" fill="#1d4ed8"/><text class="muted" x="211.3" y="220" text-anchor="middle">0</text><rect x="403.9" y="22.0" width="236.1" height="180.0" rx="2" fill="#1d4ed8"/><text x="522.0" y="17.0" text-anchor="middle">1,230</text><text class="muted" x="522.0" y="220" text-anchor="middle">1</text><rect x="714.6" y="200.0" width="236.1" height="2.0" rx="2" fill="#1d4ed8"/><text x="832.7" y="195.0" text-anchor="middle">4</text><text class="muted" x="832.7" y="220" text-anchor="middle">21+</text></svg></section>',
        '<section><h2>Conversations per user</h2><svg viewBox="0 0 1000 250" role="img" aria-label="Conversations per user" xmlns="http://www.w3.org/2000/svg"><title>Conversations per user</title><line x1="56" y1="202" x2="988" y2="202" stroke="#8c959f"/><line x1="56" y1="22" x2="988" y2="22" stroke="#d8dee4" stroke-dasharray="4 4"/><text class="muted" x="48" y="26" text-anchor="end">1,233</text><text class="muted" x="48" y="206" text-anchor="end">0</text><text class="muted" x="522" y="244" text-anchor="middle">users by distinct conversations in the CSV</text><rect x="111.9" y="200.0" width="354.2" height="2.0" rx="2" fill="#1d4ed8"/><text x="289.0" y="195.0" text-anchor="middle">1</text><text class="muted" x="289.0" y="220" text-anchor="middle">0</text><rect x="577.9" y="22.0" width="354.2" height="180.0" rx="2" fill="#1d4ed8"/><text x="755.0" y="17.0" text-anchor="middle">1,233</text><text class="muted" x="755.0" y="220" text-anchor="middle">1–10</text></svg></section>',
        '<section><h2>Users over limits (1)</h2><table><thead><tr><th>user</th><th>limit</th><th class="num">count</th><th class="num">max</th><th>message</th></tr></thead><tbody><tr><td>carol</td><td>groups</td><td class="num">21</td><td class="num">20</td><td>user carol has 21 groups, the limit is 20</td></tr></tbody></table></section>',
        '<section><h2>Users whose state could not be read (2)</h2><p class="note" style="margin:0 0 10px">Not planned and not counted above: the service refused to give their groups (50001: not imported). apply fails them and writes their rows to the failures file.</p><table><thead><tr><th>user</th><th>code</th><th>message</th></tr></thead><tbody><tr><td>erin</td><td>70107</td><td>user not found\\u{1b}[0m</td></tr></tbody></table><p class="note">First 1 of 2 shown.</p></section>',
        '<section><h2>Rejected rows (3)</h2><table><thead><tr><th class="num">line</th><th>rule</th><th>reason</th><th>value</th></tr></thead><tbody><tr><td class="num">7</td><td>type-invalid</td><td>line 7: Type must be 1, 2, c2c or group, got &quot;3&quot;</td><td>3</td></tr><tr><td class="num">12</td><td>peer-missing</td><td>line 12: Type 1 needs To_Account</td><td></td></tr></tbody></table><p class="note">First 2 of 3 shown.</p></section>',
        '<section><h2>Group names over 32 bytes (3)</h2><p class="note" style="margin:0 0 10px">The create page allows 64 bytes; the update page allows 32 in OldGroupName, which every update names. Where the service reads it so, these groups can be created but never updated: 1 are updated by this plan, the others are at risk in a later sync. <code>--group-name-limit 32</code> rejects such rows up front.</p><table><thead><tr><th>user</th><th>group</th><th class="num">bytes</th><th>update</th></tr></thead><tbody><tr><td>alice</td><td>a long &lt;name&gt;</td><td class="num">35</td><td>in this plan</td></tr><tr><td>bob</td><td>another long name</td><td class="num">40</td><td>at risk later</td></tr></tbody></table><p class="note">First 2 of 3 shown.</p></section>',
        '<section><h2>Largest changes (3 users with changes)</h2><table><thead><tr><th>user</th><th class="num">groups created</th><th class="num">memberships added</th><th class="num">memberships removed</th><th class="num">groups deleted</th></tr></thead><tbody><tr><td>dan</td><td class="num">0</td><td class="num">+120</td><td class="num">0</td><td class="num">0</td></tr><tr><td>bob</td><td class="num">+1</td><td class="num">0</td><td class="num">−2</td><td class="num">−1</td></tr></tbody></table><p class="note">First 2 of 3 shown.</p></section>',
        '<section><h2>Removals (3 users)</h2><p class="note" style="margin:0 0 10px">In all: 3 memberships removed and 2 groups deleted. Users with rejected rows are never mirrored destructively (1 planned as merge).</p><table><thead><tr><th>user</th><th class="num">memberships removed</th><th class="num">groups deleted</th></tr></thead><tbody><tr><td>bob</td><td class="num">2</td><td class="num">1</td></tr><tr><td>a|b</td><td class="num">1</td><td class="num">0</td></tr><tr><td>carol</td><td class="num">0</td><td class="num">1</td></tr></tbody></table></section>',
        '<footer>Written by cgsync from the plan summary. Self-contained: no scripts, no external assets.</footer>',
        '</main>',
        '</body>',
        '</html>',
      ),
    );
  });
});

/** An empty plan (merge, the app assumed empty): every optional section left out. */
const emptyPlan = () => new SummaryBuilder({ mode: 'merge', assumeEmpty: true }).result();

/** The summary of every section, in merge mode at no latency, with searches and no read phase. */
const mergeWithSearches = () => ({
  ...everySection(),
  mode: 'merge' as const,
  latencyMs: 0,
  observedCallsPerSecond: 0,
  estimatedSeconds: 15,
  estimatedReadSeconds: 0,
  calls: { ...everySection().calls, search_contact_group: 7 },
});

describe('the reports of an empty plan and of merge mode, exactly', () => {
  it('text: no optional section, no count of what the app holds, latency not counted', () => {
    const text = renderText(emptyPlan());
    expect(text.slice(0, text.indexOf('Groups per user'))).toBe(
      lines(
        'cgsync plan: merge mode, app assumed empty (--assume-empty)',
        '  users        0: 0 with changes, 0 unchanged, 0 over limits',
        '  groups       0 desired: 0 to create, 0 to delete',
        '  memberships  0 desired: 0 to add, 0 to remove, 0 unchanged',
        '  calls        0 writes',
        '    create_contact_group            0  0.0 s',
        '    update_contact_group            0  0.0 s',
        '    del_contact_group               0  0.0 s',
        '    get_contact_group               0  0.0 s',
        '  estimated    0.0 s at 200 calls/s per endpoint, latency not counted (give --latency), 60 users in flight; retries not counted',
        '',
      ),
    );
    expect(text).toContain('\n  21+ │ 0\n');
  });

  it('text: searches listed when there are some, 0 ms latency when the app was read, one phase', () => {
    const text = renderText(mergeWithSearches());
    expect(text).toContain(
      lines(
        '    get_contact_group               4  0.1 s',
        '    search_contact_group            7  0.1 s',
        '  estimated    15 s at 200 calls/s per endpoint, 0 ms latency, 60 users in flight; retries not counted',
        '',
      ),
    );
    // Merge mode still lists what it would remove, when anything.
    expect(text).toContain('\nWould remove: 3 memberships and delete 2 groups, from 3 users\n');
    const none = renderText({ ...mergeWithSearches(), removals: { users: 0, first: [] } });
    expect(none).not.toContain('Would remove');
  });

  it('Markdown: empty tables left out, no removals in merge mode with nothing removed', () => {
    const markdown = renderMarkdown(emptyPlan());
    expect(markdown.slice(0, markdown.indexOf('## Groups per user'))).toBe(
      lines(
        '# cgsync plan',
        '',
        'merge mode, app assumed empty (--assume-empty).',
        '',
        '| | total | details |',
        '|---|---:|---|',
        '| users | 0 | 0 with changes, 0 unchanged, 0 over limits, 0 downgraded to merge, 0 with duplicate group names |',
        '| groups | 0 | 0 to create, 0 to delete |',
        '| memberships | 0 | 0 to add, 0 to remove, 0 unchanged, 0 in the app |',
        '| writes | 0 | estimated 0.0 s at 200 calls/s per endpoint, latency not counted (give --latency), 60 users in flight; retries not counted |',
        '',
        '## Calls per endpoint',
        '',
        '| endpoint | calls | time at the rate |',
        '|---|---:|---:|',
        '| `create_contact_group` | 0 | 0.0 s |',
        '| `update_contact_group` | 0 | 0.0 s |',
        '| `del_contact_group` | 0 | 0.0 s |',
        '| `get_contact_group` | 0 | 0.0 s |',
        '',
        'Endpoints run in parallel, each at the rate; the calls in flight per latency cap them too, and in mirror mode every user is read before the first write.',
        '',
        '## Rejected rows: 0',
        '',
        '## Users over limits: 0',
        '',
      ),
    );
    const merge = renderMarkdown(mergeWithSearches());
    expect(merge).toContain('| `search_contact_group` | 7 | 0.1 s |\n');
    expect(merge).toContain('\n## Removals (mirror): 3 users\n');
    expect(renderMarkdown({ ...mergeWithSearches(), removals: { users: 0, first: [] } })).not.toContain(
      '## Removals',
    );
    // Mirror mode says so even when nothing is removed.
    const mirror = renderMarkdown({ ...everySection(), removals: { users: 0, first: [] } });
    expect(mirror).toContain('\n## Removals (mirror): 0 users\n\n## Largest changes');
  });

  it('HTML: the cards without tone, the empty tables said in words', () => {
    const html = renderHtml(emptyPlan());
    const body = html.slice(html.indexOf('</style>'));
    expect(body.replace(/<section><h2>(Calls|Groups|Conversations) per [^\n]*\n/g, '')).toBe(
      lines(
        '</style>',
        '</head>',
        '<body>',
        '<main>',
        '<h1>cgsync plan</h1><p class="sub">merge mode, app assumed empty (--assume-empty)</p>',
        '<div class="cards"><div class="card"><div class="k">Users</div><div class="v">0</div><div class="d">0 with changes · 0 unchanged · 0 over limits · 0 rows rejected</div></div><div class="card"><div class="k">Groups</div><div class="v">0</div><div class="d">0 to create · 0 to delete</div></div><div class="card"><div class="k">Memberships</div><div class="v">0</div><div class="d">0 · 0 · 0 unchanged</div></div><div class="card"><div class="k">Writes</div><div class="v">0</div><div class="d">about 0.0 s at 200 calls/s</div></div></div>',
        '<section><h2>Users over limits (0)</h2><p class="none">No user is over a limit.</p></section>',
        '<section><h2>Rejected rows (0)</h2><p class="none">No row was rejected.</p></section>',
        '<footer>Written by cgsync from the plan summary. Self-contained: no scripts, no external assets.</footer>',
        '</main>',
        '</body>',
        '</html>',
      ),
    );
    // No call, no bar: the chart draws each endpoint at width 0 (its 2-pixel minimum is for a few calls).
    expect(html).toContain(
      '<text x="0" y="23">create_contact_group</text><rect x="200" y="8" width="0.0" height="22" rx="3" fill="#15803d"/><text x="208.0" y="23">0 calls · 0.0 s</text>',
    );
    // Sections whose list is cut to nothing (a list limit of 0) still give the count, and an empty note.
    const unlisted = renderHtml({
      ...everySection(),
      unreadable: { count: 2, first: [] },
      longNames: { groups: 3, updatedNow: 1, first: [] },
    });
    expect(unlisted).toContain(
      'apply fails them and writes their rows to the failures file.</p><p class="none"></p></section>',
    );
    expect(unlisted).toContain(
      '<code>--group-name-limit 32</code> rejects such rows up front.</p><p class="none"></p></section>',
    );
    // The users card warns of rejected rows, or of users planned as merge, when none is over a limit.
    const calm = { ...emptyPlan(), usersOverLimits: 0 };
    expect(renderHtml({ ...calm, rejectedRows: { count: 1, first: [] } })).toContain(
      '<div class="card warn"><div class="k">Users</div>',
    );
    expect(renderHtml({ ...calm, usersDowngraded: 1 })).toContain(
      '<div class="card warn"><div class="k">Users</div>',
    );
    const merge = renderHtml(mergeWithSearches());
    expect(merge).toContain(
      '<text x="0" y="159">search_contact_group</text><rect x="200" y="144" width="2.0" height="22" rx="3" fill="#7c3aed"/>',
    );
    expect(merge).toContain('<div class="d">about 15 s at 200 calls/s</div>');
    expect(merge).toContain('<section><h2>Removals (3 users)</h2>');
    const mirror = renderHtml({ ...everySection(), removals: { users: 0, first: [] } });
    expect(mirror).toContain(
      '<section><h2>Removals (0 users)</h2><p class="note" style="margin:0 0 10px">In all: 3 memberships removed and 2 groups deleted. Users with rejected rows are never mirrored destructively (1 planned as merge).</p><p class="none">Nothing would be removed.</p></section>',
    );
    expect(renderHtml({ ...mergeWithSearches(), removals: { users: 0, first: [] } })).not.toContain(
      'Removals',
    );
  });
});
