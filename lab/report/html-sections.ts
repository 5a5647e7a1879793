/**
 * The report's judging sections: the verdicts (first thing on the page), the event-loop warning,
 * and, for outages and black holes, time to detect and to recover with the breaker transitions.
 */
import type { LabResult } from '../engine/metrics.js';
import { CRITERION_LABELS, verdictLine } from '../engine/verdict.js';
import { formatSeconds } from './format.js';
import { escapeXml } from './svg.js';
import { loopWarning } from './terminal.js';

/** The verdict of every configuration against plain, the defaults' first, with each criterion. */
export function verdictBox(result: LabResult): string {
  const plain = result.configs.find((c) => c.name === 'plain');
  if (plain === undefined || result.verdicts.length === 0) return '';
  const ordered = [...result.verdicts].sort(
    (a, b) => Number(b.config === 'defaults') - Number(a.config === 'defaults'),
  );
  const lines = ordered.map((v) => {
    const totals = result.configs.find((c) => c.name === v.config)!.totals;
    const text = verdictLine(v, totals, plain.totals);
    const cls = v.outcome === 'pass' ? 'pass' : v.outcome === 'fail' ? 'fail' : 'na';
    const [word, ...rest] = text.split(/(?=[ :])/);
    return `<p class="verdict" data-config="${escapeXml(v.config)}" data-outcome="${v.outcome}"><b class="${cls}">${escapeXml(word ?? '')}</b>${escapeXml(rest.join(''))} <span class="help">(${escapeXml(v.config)} vs plain)</span></p>`;
  });
  const head = ordered.map((v) => `<th>${escapeXml(v.config)}</th>`).join('');
  const ids = Object.keys(CRITERION_LABELS) as (keyof typeof CRITERION_LABELS)[];
  const rows = ids.map((id) => {
    const cells = ordered.map((v) => {
      const c = v.criteria.find((x) => x.id === id);
      if (c === undefined) return '<td class="na">–</td>';
      const cls = !c.applies ? 'na' : c.pass ? 'pass' : 'fail';
      const word = !c.applies ? 'not judged' : c.pass ? 'pass' : 'FAIL';
      return `<td class="text ${cls}" title="${escapeXml(c.detail)}">${word}: ${escapeXml(c.detail)}</td>`;
    });
    return `<tr><td class="text">${escapeXml(CRITERION_LABELS[id])}</td>${cells.join('')}</tr>`;
  });
  return `<section class="verdicts"><h2 style="margin:0 0 6px">Verdict</h2>${lines.join('')}
<details><summary>Criteria (each configuration against plain, same run, same seed)</summary><div class="scroll"><table class="criteria"><thead><tr><th>criterion</th>${head}</tr></thead><tbody>${rows.join('')}</tbody></table></div></details></section>`;
}

/** A warning when the event loop lagged: the figures of this run are noisy. */
export function loopBox(result: LabResult): string {
  const warning = loopWarning(result);
  return warning === undefined
    ? ''
    : `<p class="warning"><strong>Warning:</strong> ${escapeXml(warning)}</p>`;
}

/** Time to detect and to recover per outage phase, then each configuration's breaker transitions. */
export function recoverySection(result: LabResult, colors: readonly string[]): string {
  const parts: string[] = [];
  if (result.outages.length > 0) {
    const head = result.configs.map((c) => `<th>${escapeXml(c.name)}</th>`).join('');
    const rows = result.outages.flatMap((o) => {
      const phase = `${o.label}, ${formatSeconds(o.from)}–${formatSeconds(o.to)} s`;
      const detect = o.configs.map((r) =>
        !r.hasBreaker ? 'no breaker' : r.detectMs === null ? 'never' : `${formatSeconds(r.detectMs, 2)} s`,
      );
      const recover = o.configs.map((r) =>
        r.recoverMs === null ? 'not by the end' : `${formatSeconds(r.recoverMs, 2)} s`,
      );
      return [
        `<tr><td class="text">${escapeXml(phase)}: time to detect</td>${detect.map((v) => `<td>${escapeXml(v)}</td>`).join('')}</tr>`,
        `<tr><td class="text">${escapeXml(phase)}: time to recover</td>${recover.map((v) => `<td>${escapeXml(v)}</td>`).join('')}</tr>`,
      ];
    });
    parts.push(`<h2>Detection and recovery</h2><div class="scroll"><table class="recovery"><thead><tr><th>phase</th>${head}</tr></thead><tbody>${rows.join('')}</tbody></table></div>
<p class="help">Time to detect: from the start of the phase to the first breaker opening. Time to recover: from the end of the phase to the first window of calls (one bucket long, by start time) of which at least 90 % of the pre-fault success rate succeeded.</p>`);
  }
  const withTransitions = result.configs.filter((c) => c.transitions.length > 0);
  if (withTransitions.length > 0) {
    const lists = withTransitions.map((c) => {
      const i = result.configs.indexOf(c);
      const items = c.transitions
        .slice(0, 40)
        .map(
          (t) => `<li>${escapeXml(`${formatSeconds(t.at, 2)} s: ${t.from} → ${t.to} (${t.reason})`)}</li>`,
        );
      if (c.transitions.length > 40) items.push(`<li>… ${c.transitions.length - 40} more</li>`);
      return `<p><span class="swatch" style="background:${colors[i]!}"></span><strong>${escapeXml(c.name)}</strong></p><ul class="transitions">${items.join('')}</ul>`;
    });
    parts.push(`<h2>Breaker transitions</h2>${lists.join('')}`);
  }
  return parts.join('\n');
}
