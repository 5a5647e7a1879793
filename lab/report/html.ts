/**
 * The HTML report: one self-contained file (inline CSS, inline SVG, the run's data as JSON) that
 * opens in any browser without a network.
 */
import type { ConfigResult, LabResult } from '../engine/metrics.js';
import {
  formatErrors,
  formatFixed,
  formatLoad,
  formatMs,
  formatNumber,
  formatPct,
  formatSeconds,
  palette,
} from './format.js';
import { renderText } from '../engine/scenario.js';
import { loopBox, recoverySection, verdictBox } from './html-sections.js';
import { escapeXml, lineChart, type BandRow, type Series, type Shade } from './svg.js';

const BREAKER_COLORS = { closed: '#bbf7d0', 'half-open': '#fde68a', open: '#ef4444' } as const;

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#111827;background:#f9fafb;margin:0}
main{max-width:960px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:28px 0 8px}
.meta{color:#4b5563;margin:0 0 12px}
section.chart-box{background:#fff;border:1px solid #e5e7eb;border-radius:8px;padding:12px;margin:14px 0}
.help{color:#4b5563;margin:4px 0 8px;font-size:13px}
svg.chart{max-width:100%;height:auto;font-size:12px}
svg .title{font-weight:600;font-size:14px}svg .tick,svg .axis-label,svg .band-label{fill:#4b5563}
svg .grid{stroke:#e5e7eb}svg .axis{stroke:#6b7280}
svg .phase{fill:#fee2e2;opacity:.6}svg .phase-label{fill:#991b1b;font-size:11px}
table{border-collapse:collapse;width:100%;background:#fff;font-variant-numeric:tabular-nums}
th,td{border:1px solid #e5e7eb;padding:5px 7px;text-align:right;vertical-align:top}
th:first-child,td:first-child,td.text,th.text{text-align:left}td{white-space:nowrap}td.text{white-space:normal}th{background:#f3f4f6}
.swatch{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:6px}
code,pre{font:12px ui-monospace,SFMono-Regular,Menlo,monospace}pre{margin:0;white-space:pre-wrap}
.notes{background:#eff6ff;border:1px solid #bfdbfe;border-radius:6px;padding:8px 12px}
.scroll{overflow-x:auto;max-width:100%}
.verdicts{background:#fff;border:1px solid #e5e7eb;border-radius:8px;padding:10px 14px;margin:12px 0}
.verdict{margin:4px 0;font-size:15px}.verdict b.pass{color:#15803d}.verdict b.fail{color:#b91c1c}.verdict b.na{color:#6b7280}
.criteria td.pass{color:#15803d}.criteria td.fail{color:#b91c1c;font-weight:600}.criteria td.na{color:#6b7280}
.warning{background:#fffbeb;border:1px solid #fcd34d;border-radius:6px;padding:8px 12px}
svg .reference-label{fill:#111827;font-size:11px}
ul.transitions{margin:4px 0 0 18px;padding:0}
`;

/** Renders the report. */
export function renderHtmlReport(result: LabResult): string {
  const { scenario } = result;
  const colors = palette(result.configs.map((c) => c.name));
  const shades: Shade[] = result.phases
    .filter((p) => p.fault !== 'healthy')
    .map((p) => ({ from: p.from, to: p.to, label: p.label }));
  const base = { xMax: scenario.duration, shades };
  const per = (fn: (c: ConfigResult, i: number) => Series | undefined): Series[] =>
    result.configs.map(fn).filter((s): s is Series => s !== undefined && s.points.some((p) => p[1] !== null));
  const n = result.configs.length;
  const line = (
    c: ConfigResult,
    i: number,
    name: string,
    pick: (b: ConfigResult['buckets'][number]) => number | null,
    dashed = false,
  ): Series => ({
    name,
    color: colors[i]!,
    dashed,
    // The first configuration widest, each next one thinner: coinciding lines stay visible.
    width: 2 + 1.75 * (n - 1 - i),
    points: c.buckets.map((b) => [b.t + scenario.bucket / 2, pick(b)] as const),
  });
  const perSecond = 1000 / scenario.bucket;
  const charts: { help: string; svg: string }[] = [];

  charts.push({
    help: 'Share of calls that got a 2xx/3xx answer, by the time they finished. Shaded: upstream fault phases. Bands below: each breaker\u2019s state (green closed, amber half-open, red open).',
    svg: lineChart({
      ...base,
      id: 'chart-success',
      title: 'Success rate',
      yUnit: '%',
      yMax: 100,
      series: per((c, i) => line(c, i, c.name, (b) => (b.successRate === null ? null : b.successRate * 100))),
      bands: breakerBands(result),
      bandColors: BREAKER_COLORS,
    }),
  });
  charts.push({
    help: 'Time each call took as its caller saw it, failures included, retries and waits included (log scale). Solid: median; dashed: 99th percentile. A call that fails fast pulls these down: see the next chart.',
    svg: lineChart({
      ...base,
      id: 'chart-latency',
      title: 'Latency of all calls (p50 solid, p99 dashed)',
      yUnit: 'ms',
      log: true,
      series: [
        ...per((c, i) => line(c, i, `${c.name} p50`, (b) => b.p50)),
        ...per((c, i) => line(c, i, `${c.name} p99`, (b) => b.p99, true)),
      ],
    }),
  });
  charts.push({
    help: 'The same, for the calls that succeeded only: what a caller who got an answer waited.',
    svg: lineChart({
      ...base,
      id: 'chart-latency-ok',
      title: 'Latency of successful calls (p50 solid, p99 dashed)',
      yUnit: 'ms',
      log: true,
      series: [
        ...per((c, i) => line(c, i, `${c.name} p50`, (b) => b.p50ok)),
        ...per((c, i) => line(c, i, `${c.name} p99`, (b) => b.p99ok, true)),
      ],
    }),
  });
  charts.push({
    help: 'Requests per second that reached the upstream: what each configuration costs the service it calls. Retries add to it; an open breaker or a limiter takes away. Black dotted: the calls offered per second; dotted levels: the API\u2019s capacity or quota.',
    svg: lineChart({
      ...base,
      id: 'chart-upstream',
      title: 'Load on the upstream (requests/s received)',
      yUnit: '/s',
      series: [
        ...(result.offered === null
          ? []
          : [
              {
                name: 'offered (calls/s)',
                color: '#111827',
                dashed: true,
                width: 1.5,
                points: result.offered.map(
                  (count, k) => [(k + 0.5) * scenario.bucket, count * perSecond] as const,
                ),
              },
            ]),
        ...per((c, i) => line(c, i, c.name, (b) => b.upstreamReceived * perSecond)),
      ],
      references: result.references.map((r) => ({
        from: r.from,
        to: r.to,
        y: r.perSecond,
        label: `${r.label} ${formatNumber(r.perSecond)}/s`,
      })),
    }),
  });
  charts.push({
    help: 'Attempts per finished call: 1 means no retry; 0 means the call was refused before reaching the wire (open breaker, limiter).',
    svg: lineChart({
      ...base,
      id: 'chart-attempts',
      title: 'Attempts per call',
      yUnit: '',
      series: per((c, i) => line(c, i, c.name, (b) => b.attemptsPerCall)),
    }),
  });
  charts.push({
    help: 'Calls in flight (solid) and, where a concurrency limiter is configured, its limit (dashed).',
    svg: lineChart({
      ...base,
      id: 'chart-concurrency',
      title: 'Concurrency (in flight solid, limit dashed)',
      yUnit: '',
      series: [
        ...per((c, i) => line(c, i, `${c.name} in flight`, (b) => b.inflight)),
        ...per((c, i) =>
          c.buckets.some((b) => b.limit !== null)
            ? line(c, i, `${c.name} limit`, (b) => b.limit, true)
            : undefined,
        ),
      ],
    }),
  });
  if (result.configs.some((c) => c.totals.rateLimitWaits > 0)) {
    charts.push({
      help: 'Calls the rate limiter held back per second, rather than send over the quota.',
      svg: lineChart({
        ...base,
        id: 'chart-rate-limit',
        title: 'Rate-limit waits (per second)',
        yUnit: '/s',
        series: per((c, i) => line(c, i, c.name, (b) => b.rateLimitWaits * perSecond)),
      }),
    });
  }

  const data = JSON.stringify(result).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>bulwark lab: ${escapeXml(scenario.name)}</title><style>${CSS}</style></head>
<body><main>
<h1>bulwark lab: ${escapeXml(scenario.name)}</h1>
<p class="meta">${escapeXml(renderText(scenario, scenario.description))}</p>
${verdictBox(result)}
<p class="meta">${escapeXml(result.startedAt)} · ${formatNumber(scenario.duration / 1000)} s · load ${escapeXml(formatLoad(scenario.load))} · ${escapeXml(scenario.request.method)} ${escapeXml(scenario.request.path)}${scenario.request.deadline === undefined ? '' : ` under a ${scenario.request.deadline} ms deadline`} · bucket ${scenario.bucket} ms · seed ${scenario.seed}</p>
<p class="meta">Upstream: ${escapeXml(result.phases.length === 0 ? 'healthy throughout' : result.phases.map((p) => `${p.label} from ${formatSeconds(p.from)} s to ${formatSeconds(p.to)} s`).join('; '))}</p>
${loopBox(result)}
${scenario.notes === '' ? '' : `<p class="notes"><strong>What to look for:</strong> ${escapeXml(renderText(scenario, scenario.notes))}</p>`}
<h2>Totals</h2>
${totalsTable(result, colors)}
${recoverySection(result, colors)}
${charts.map((c) => `<section class="chart-box"><p class="help">${escapeXml(c.help)}</p>${c.svg}</section>`).join('\n')}
<h2>Configurations</h2>
${optionsTable(result, colors)}
<script type="application/json" id="lab-data">${data}</script>
</main></body></html>
`;
}

function breakerBands(result: LabResult): BandRow[] {
  const rows: BandRow[] = [];
  for (const config of result.configs) {
    const keys = [...new Set(config.buckets.flatMap((b) => Object.keys(b.breakers)))];
    for (const key of keys) {
      rows.push({
        label: keys.length === 1 ? config.name : `${config.name} ${key}`,
        cells: config.buckets.map((b) => ({
          from: b.t,
          to: b.t + result.scenario.bucket,
          state: b.breakers[key] ?? null,
        })),
      });
    }
  }
  return rows;
}

function totalsTable(result: LabResult, colors: readonly string[]): string {
  const deadline = result.configs.some((c) => c.totals.downstream !== null);
  const head = [
    'configuration',
    'calls',
    'success',
    'goodput/s',
    'p50',
    'p99',
    'p99 ok',
    'attempts/call',
    'wasted attempts',
    'upstream requests',
    'late responses',
  ];
  const swatch = (i: number, name: string): string =>
    `<td><span class="swatch" style="background:${colors[i]!}"></span>${escapeXml(name)}</td>`;
  const rows = result.configs.map((c, i) => {
    const t = c.totals;
    const cells = [
      formatNumber(t.calls),
      formatPct(t.successRate),
      formatNumber(t.goodput),
      formatMs(t.p50),
      formatMs(t.p99),
      formatMs(t.p99ok),
      formatFixed(t.attemptsPerCall, 2),
      formatNumber(t.wastedAttempts),
      formatNumber(t.upstreamReceived),
      formatNumber(t.lateResponses),
    ];
    return `<tr>${swatch(i, c.name)}${cells.map((v) => `<td>${escapeXml(v)}</td>`).join('')}</tr>`;
  });
  // Service B's figures get their own table: eleven columns already fill the card.
  const chain = deadline
    ? `<h2>Service B (deadline chain)</h2><div class="scroll"><table class="downstream"><thead><tr><th>configuration</th><th>B work done</th><th>B work wasted</th><th>B skipped</th></tr></thead><tbody>${result.configs
        .map(
          (c, i) =>
            `<tr>${swatch(i, c.name)}<td>${escapeXml(formatMs(c.totals.downstream?.workMs ?? 0))}</td><td>${escapeXml(formatMs(c.totals.downstream?.wastedMs ?? 0))}</td><td>${escapeXml(formatNumber(c.totals.downstream?.skipped ?? 0))}</td></tr>`,
        )
        .join('')}</tbody></table></div>
<p class="help">B work wasted: service B's working time for callers that had already given up. B skipped: requests B refused at once because the propagated deadline could not be met.</p>`
    : '';
  return `<div class="scroll"><table class="totals"><thead><tr>${head.map((h) => `<th>${escapeXml(h)}</th>`).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table></div>
<p class="help">Calls include those still running when the grace period after the run ended (failed). Goodput: calls that succeeded within the run, per second. p99 ok: the p99 of successful calls only. Wasted attempts: attempts that did not yield a success. Late responses: upstream answers that arrived after the caller had given up on the call (work nobody used).</p>
${chain}
<h2>Failures</h2>
${failuresTable(result, colors)}`;
}

function failuresTable(result: LabResult, colors: readonly string[]): string {
  const rows = result.configs.map((c, i) => {
    const t = c.totals;
    const notes = [
      t.cutOff > 0 ? `${t.cutOff} calls still running at the end (counted as failed)` : '',
      t.rateLimitWaits > 0
        ? `${t.rateLimitWaits} rate-limit waits, ${formatMs(t.rateLimitWaitMs)} in all`
        : '',
    ].filter((n) => n !== '');
    return `<tr><td><span class="swatch" style="background:${colors[i]!}"></span>${escapeXml(c.name)}</td><td class="text">${escapeXml(formatErrors(t, 12))}</td><td class="text">${escapeXml(notes.join('; '))}</td></tr>`;
  });
  return `<div class="scroll"><table class="failures"><thead><tr><th>configuration</th><th class="text">failed calls by outcome</th><th class="text">notes</th></tr></thead><tbody>${rows.join('')}</tbody></table></div>`;
}

function optionsTable(result: LabResult, colors: readonly string[]): string {
  const rows = result.configs.map(
    (c, i) =>
      `<tr><td><span class="swatch" style="background:${colors[i]!}"></span>${escapeXml(c.name)}</td><td class="text"><pre>${escapeXml(JSON.stringify(c.options, replacer, 2))}</pre></td></tr>`,
  );
  return `<table><thead><tr><th>name</th><th class="text">createClient options (besides name and baseUrl)</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function replacer(_key: string, value: unknown): unknown {
  return typeof value === 'function' ? `[function ${(value as { name?: string }).name ?? ''}]` : value;
}
