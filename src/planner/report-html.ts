import { LIMITS } from '../model.js';
import {
  describeEstimate,
  describeMode,
  endpointRows,
  formatDuration,
  htmlText as h,
  headerFacts,
  formatCount as n,
  plural,
  type ReportHeader,
  signedCount,
  totalWrites,
  usersUnchanged,
} from './report-format.js';
import type { HistogramBucket, PlanSummary } from './summary.js';

const COLORS: Record<string, string> = {
  create: '#15803d',
  update: '#1d4ed8',
  delete: '#b91c1c',
  read: '#6b7280',
  search: '#7c3aed',
};

const STYLE = `
*{box-sizing:border-box}
body{margin:0;background:#f5f6f8;color:#1f2328;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","Noto Sans CJK SC",sans-serif}
main{max-width:1120px;margin:0 auto;padding:28px 24px 40px}
h1{font-size:26px;margin:0}
h2{font-size:18px;margin:0 0 12px}
.sub{color:#57606a;margin:4px 0 20px}
.cards{display:grid;grid-template-columns:repeat(4,1fr);gap:14px;margin-bottom:18px}
.card{background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:14px 16px}
.card .k{color:#57606a;font-size:13px;text-transform:uppercase;letter-spacing:.04em}
.card .v{font-size:28px;font-weight:650;margin:2px 0}
.card .d{color:#57606a;font-size:13px}
.card.warn{border-color:#d4a72c;background:#fff8c5}
.card.bad{border-color:#cf222e;background:#ffebe9}
section{background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:18px 20px;margin-bottom:18px}
svg{display:block;width:100%;height:auto}
svg text{font:13px system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;fill:#1f2328}
svg .muted{fill:#57606a}
.note{color:#57606a;font-size:13px;margin:8px 0 0}
table{border-collapse:collapse;width:100%;font-size:14px}
th,td{text-align:left;padding:6px 10px;border-bottom:1px solid #d8dee4;vertical-align:top;overflow-wrap:anywhere}
th{background:#f6f8fa;font-weight:600}
td.num,th.num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
.none{color:#57606a;margin:0}
footer{color:#57606a;font-size:12px;text-align:center}
.facts th{width:90px;background:none;color:#57606a}
.facts td{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:13px}
`;

/**
 * The plan summary as one self-contained HTML page: inline CSS and SVG, no scripts, no external assets.
 * With `header`, the input, its digest, the target, the time and the tool come first.
 */
export function renderHtml(summary: PlanSummary, header?: ReportHeader): string {
  const s = summary;
  const sections = [
    cards(s),
    section(
      'Calls per endpoint',
      callsChart(s) +
        `<p class="note">Estimated ${h(describeEstimate(s))}. Endpoints run in parallel, each at the rate; the calls in flight per latency cap them too, and in mirror mode every user is read before the first write.</p>`,
    ),
    section('Groups per user', histogramChart(s.groupsPerUser, 'groups in the CSV', 'Groups per user')),
    section(
      'Conversations per user',
      histogramChart(s.conversationsPerUser, 'distinct conversations in the CSV', 'Conversations per user'),
    ),
    section(
      `Users over limits (${n(s.usersOverLimits)})`,
      table(
        ['user', 'limit', 'count', 'max', 'message'],
        ['', '', 'num', 'num', ''],
        s.violations.first.map((v) => [v.user, v.limit, n(v.count), n(v.max), v.message]),
        s.violations.count,
        'No user is over a limit.',
      ),
    ),
    section(
      `Rejected rows (${n(s.rejectedRows.count)})`,
      table(
        ['line', 'rule', 'reason', 'value'],
        ['num', '', '', ''],
        s.rejectedRows.first.map((r) => [String(r.line), r.rule, r.message, r.value ?? '']),
        s.rejectedRows.count,
        'No row was rejected.',
      ),
    ),
  ];
  if (s.unreadable !== undefined) {
    sections.splice(
      5,
      0,
      section(
        `Users whose state could not be read (${n(s.unreadable.count)})`,
        '<p class="note" style="margin:0 0 10px">Not planned and not counted above: the service refused to give their groups (50001: not imported). apply fails them and writes their rows to the failures file.</p>' +
          table(
            ['user', 'code', 'message'],
            ['', '', ''],
            s.unreadable.first.map((u) => [u.user, String(u.errorCode), u.message]),
            s.unreadable.count,
            '',
          ),
      ),
    );
  }
  if (s.longNames !== undefined) {
    sections.push(
      section(
        `Group names over ${LIMITS.groupNameBytesRename} bytes (${n(s.longNames.groups)})`,
        `<p class="note" style="margin:0 0 10px">The create page allows 64 bytes; the update page allows ${LIMITS.groupNameBytesRename} in OldGroupName, which every update names. Where the service reads it so, these groups can be created but never updated: ${n(s.longNames.updatedNow)} are updated by this plan, the others are at risk in a later sync. <code>--group-name-limit ${LIMITS.groupNameBytesRename}</code> rejects such rows up front.</p>` +
          table(
            ['user', 'group', 'bytes', 'update'],
            ['', '', 'num', ''],
            s.longNames.first.map((r) => [
              r.user,
              r.group,
              n(r.bytes),
              r.updateNow ? 'in this plan' : 'at risk later',
            ]),
            s.longNames.groups,
            '',
          ),
      ),
    );
  }
  if (s.largestChanges.length > 0) {
    sections.push(
      section(
        `Largest changes (${plural(s.usersWithChanges, 'user')} with changes)`,
        table(
          ['user', 'groups created', 'memberships added', 'memberships removed', 'groups deleted'],
          ['', 'num', 'num', 'num', 'num'],
          s.largestChanges.map((c) => [
            c.user,
            signedCount(c.groupsCreated, '+'),
            signedCount(c.membershipsAdded, '+'),
            signedCount(c.membershipsRemoved, '−'),
            signedCount(c.groupsDeleted, '−'),
          ]),
          s.usersWithChanges,
          '',
        ),
      ),
    );
  }
  if (s.mode === 'mirror' || s.removals.users > 0) {
    sections.push(
      section(
        `Removals (${plural(s.removals.users, 'user')})`,
        `<p class="note" style="margin:0 0 10px">In all: ${n(s.memberships.removed)} memberships removed and ${n(s.groups.deleted)} groups deleted. Users with rejected rows are never mirrored destructively (${n(s.usersDowngraded)} planned as merge).</p>` +
          table(
            ['user', 'memberships removed', 'groups deleted'],
            ['', 'num', 'num'],
            s.removals.first.map((r) => [r.user, n(r.membershipsRemoved), n(r.groupsDeleted)]),
            s.removals.users,
            'Nothing would be removed.',
          ),
      ),
    );
  }
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<title>cgsync plan</title>',
    `<style>${STYLE}</style>`,
    '</head>',
    '<body>',
    '<main>',
    `<h1>cgsync plan</h1><p class="sub">${h(describeMode(s))}</p>`,
    ...(header === undefined ? [] : [facts(header)]),
    ...sections,
    '<footer>Written by cgsync from the plan summary. Self-contained: no scripts, no external assets.</footer>',
    '</main>',
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

function facts(header: ReportHeader): string {
  const rows = headerFacts(header)
    .map(([k, v]) => `<tr><th>${h(k)}</th><td>${h(v)}</td></tr>`)
    .join('');
  return `<section class="facts"><table><tbody>${rows}</tbody></table></section>`;
}

function section(title: string, body: string): string {
  return `<section><h2>${h(title)}</h2>${body}</section>`;
}

function cards(s: PlanSummary): string {
  const card = (key: string, value: string, detail: string, tone = ''): string =>
    `<div class="card${tone === '' ? '' : ` ${tone}`}"><div class="k">${h(key)}</div><div class="v">${h(value)}</div><div class="d">${h(detail)}</div></div>`;
  const userTone =
    s.usersOverLimits > 0 ? 'bad' : s.usersDowngraded > 0 || s.rejectedRows.count > 0 ? 'warn' : '';
  return `<div class="cards">${[
    card(
      'Users',
      n(s.users),
      [
        `${n(s.usersWithChanges)} with changes · ${n(usersUnchanged(s))} unchanged · ${n(s.usersOverLimits)} over limits · ${n(s.rejectedRows.count)} rows rejected`,
        s.usersDowngraded > 0 ? ` · ${n(s.usersDowngraded)} planned as merge (rejected rows)` : '',
        s.usersWithDuplicateGroups > 0
          ? ` · ${n(s.usersWithDuplicateGroups)} with duplicate group names`
          : '',
      ].join(''),
      userTone,
    ),
    card(
      'Groups',
      n(s.groups.desired),
      `${signedCount(s.groups.created, '+')} to create · ${signedCount(s.groups.deleted, '−')} to delete`,
    ),
    card(
      'Memberships',
      n(s.memberships.desired),
      `${signedCount(s.memberships.added, '+')} · ${signedCount(s.memberships.removed, '−')} · ${n(s.memberships.unchanged)} unchanged`,
      s.memberships.removed > 0 ? 'warn' : '',
    ),
    card(
      'Writes',
      n(totalWrites(s)),
      `about ${formatDuration(s.estimatedSeconds)} at ${n(s.rate)} calls/s${s.estimatedReadSeconds > 0 ? `, ${formatDuration(s.estimatedReadSeconds)} of it reading` : ''}`,
    ),
  ].join('')}</div>`;
}

function callsChart(s: PlanSummary): string {
  const rows = endpointRows(s);
  const labelW = 200;
  const barW = 560;
  const rowH = 34;
  const height = rows.length * rowH + 8;
  const max = Math.max(1, ...rows.map((r) => r.calls));
  const body = rows
    .map((r, i) => {
      const y = i * rowH + 4;
      const w = r.calls === 0 ? 0 : Math.max(2, (r.calls / max) * barW);
      const color = COLORS[r.label] ?? '#1d4ed8';
      return (
        `<text x="0" y="${y + 19}">${h(r.endpoint)}</text>` +
        `<rect x="${labelW}" y="${y + 4}" width="${w.toFixed(1)}" height="22" rx="3" fill="${color}"/>` +
        `<text x="${(labelW + w + 8).toFixed(1)}" y="${y + 19}">${h(plural(r.calls, 'call'))} · ${h(formatDuration(r.seconds))}</text>`
      );
    })
    .join('');
  return svg(1000, height, 'Calls per endpoint with the time each takes at the rate', body);
}

function histogramChart(buckets: readonly HistogramBucket[], xLabel: string, title: string): string {
  const width = 1000;
  const height = 250;
  const left = 56;
  const right = 12;
  const top = 22;
  const bottom = 48;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const max = Math.max(1, ...buckets.map((b) => b.count));
  const slot = plotW / Math.max(1, buckets.length);
  const bars = buckets
    .map((b, i) => {
      const barH = b.count === 0 ? 0 : Math.max(2, (b.count / max) * plotH);
      const x = left + i * slot + slot * 0.12;
      const y = top + plotH - barH;
      const cx = (left + i * slot + slot / 2).toFixed(1);
      const value =
        b.count === 0
          ? ''
          : `<text x="${cx}" y="${(y - 5).toFixed(1)}" text-anchor="middle">${h(n(b.count))}</text>`;
      return (
        `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${(slot * 0.76).toFixed(1)}" height="${barH.toFixed(1)}" rx="2" fill="#1d4ed8"/>` +
        value +
        `<text class="muted" x="${cx}" y="${top + plotH + 18}" text-anchor="middle">${h(b.label)}</text>`
      );
    })
    .join('');
  const axis =
    `<line x1="${left}" y1="${top + plotH}" x2="${width - right}" y2="${top + plotH}" stroke="#8c959f"/>` +
    `<line x1="${left}" y1="${top}" x2="${width - right}" y2="${top}" stroke="#d8dee4" stroke-dasharray="4 4"/>` +
    `<text class="muted" x="${left - 8}" y="${top + 4}" text-anchor="end">${h(n(max))}</text>` +
    `<text class="muted" x="${left - 8}" y="${top + plotH + 4}" text-anchor="end">0</text>` +
    `<text class="muted" x="${left + plotW / 2}" y="${height - 6}" text-anchor="middle">users by ${h(xLabel)}</text>`;
  return svg(width, height, title, axis + bars);
}

function svg(width: number, height: number, title: string, body: string): string {
  return `<svg viewBox="0 0 ${width} ${height}" role="img" aria-label="${h(title)}" xmlns="http://www.w3.org/2000/svg"><title>${h(title)}</title>${body}</svg>`;
}

function table(
  headers: readonly string[],
  classes: readonly string[],
  rows: readonly (readonly string[])[],
  total: number,
  empty: string,
): string {
  if (rows.length === 0) return `<p class="none">${h(empty)}</p>`;
  const cls = (i: number): string => (classes[i] ? ` class="${classes[i]}"` : '');
  const head = `<tr>${headers.map((x, i) => `<th${cls(i)}>${h(x)}</th>`).join('')}</tr>`;
  const body = rows.map((r) => `<tr>${r.map((x, i) => `<td${cls(i)}>${h(x)}</td>`).join('')}</tr>`).join('');
  const more = rows.length < total ? `<p class="note">First ${n(rows.length)} of ${n(total)} shown.</p>` : '';
  return `<table><thead>${head}</thead><tbody>${body}</tbody></table>${more}`;
}
