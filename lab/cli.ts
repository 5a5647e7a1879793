/**
 * `bulwark lab` and `bulwark demo`: run resilience scenarios against local fake APIs and write
 * a report. `main()` is exported for bin/bulwark.js and the tests; running this file runs it.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { LabBulwark } from './engine/client.js';
import { builtinScenarios, LabInputError, loadClientConfig, loadScenario } from './engine/files.js';
import { summarize, type LabResult } from './engine/metrics.js';
import { ScenarioError } from './engine/parse-scenario.js';
import { ConfigurationError, runScenario } from './engine/run.js';
import {
  DEFAULT_CLIENT,
  PLAIN_CLIENT,
  describePhase,
  renderText,
  withDuration,
  type Scenario,
} from './engine/scenario.js';
import { formatLoad, formatSeconds } from './report/format.js';
import { renderHtmlReport } from './report/html.js';
import { jsonReport, spreadLines, summaryLines, type ScenarioRuns } from './report/spread.js';
import { createProgressBar, renderSummary, useColor, type Output } from './report/terminal.js';

const USAGE = `Usage:
  bulwark demo [--out dir]
      Runs the outage and overload scenarios (about 30 s) and writes their reports.
  bulwark lab [scenario | all] [--config file] [--duration s] [--out dir] [--seed n]
              [--runs n] [--json file] [--check]
      Runs one scenario: a built-in name or a path to a scenario .json file; \`all\` runs
      every built-in scenario and ends with a verdict summary.
      Without a scenario, lists the built-in ones.

Options:
  --config file   your createClient options (.json, or a .js/.ts module exporting them),
                  compared with the plain client and bulwark's defaults
  --duration s    run length in seconds; fault phases stretch or shrink to fit
  --out dir       where to write reports (default: lab/reports)
  --seed n        another random seed (faults and arrivals are reproducible per seed)
  --runs n        run each scenario n times (seeds n, n+1, …) and show the spread
  --json file     write the totals and verdicts of every run as JSON (for CI)
  --check         exit with status 3 when a verdict of the defaults (or of --config) fails

Docs: docs/lab.md`;

/** Where `main` writes, and (for tests) the bulwark module to drive. */
export interface CliIo {
  readonly stdout: Output;
  readonly stderr: Output;
  readonly bulwark?: LabBulwark;
  readonly cwd?: string;
}

interface Args {
  readonly positional: string[];
  readonly flags: Map<string, string>;
}

const VALUE_FLAGS = new Set(['--config', '--duration', '--out', '--seed', '--runs', '--json']);
const SWITCHES = new Set(['--check']);

function parseArgs(argv: readonly string[]): Args {
  const positional: string[] = [];
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '-h' || arg === '--help') {
      flags.set('--help', '');
    } else if (SWITCHES.has(arg)) {
      flags.set(arg, '');
    } else if (arg.startsWith('--')) {
      const [name, inline] = arg.split('=', 2) as [string, string | undefined];
      if (!VALUE_FLAGS.has(name)) throw new LabInputError(`bulwark: unknown option ${name}\n\n${USAGE}`);
      const value = inline ?? argv[++i];
      if (value === undefined || value === '') throw new LabInputError(`bulwark: ${name} needs a value`);
      flags.set(name, value);
    } else {
      positional.push(arg);
    }
  }
  return { positional, flags };
}

/** Runs the CLI; resolves to the exit code. */
export async function main(
  argv: readonly string[],
  io: CliIo = { stdout: process.stdout, stderr: process.stderr },
): Promise<number> {
  try {
    const args = parseArgs(argv);
    const [command, ...rest] = args.positional;
    if (args.flags.has('--help') || command === undefined || command === 'help') {
      io.stdout.write(`${USAGE}\n`);
      return command === undefined && !args.flags.has('--help') ? 2 : 0;
    }
    const cwd = io.cwd ?? process.cwd();
    const out = resolve(cwd, args.flags.get('--out') ?? join('lab', 'reports'));
    if (command === 'demo') return await demo(io, out, args);
    if (command === 'lab') return await lab({ ...io, cwd }, out, args, rest);
    throw new LabInputError(`bulwark: unknown command "${command}"\n\n${USAGE}`);
  } catch (error) {
    if (
      error instanceof LabInputError ||
      error instanceof ScenarioError ||
      error instanceof ConfigurationError
    ) {
      io.stderr.write(`${error.message}\n`);
      return 2;
    }
    io.stderr.write(
      `bulwark lab failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    return 1;
  }
}

async function demo(io: CliIo, out: string, args: Args): Promise<number> {
  for (const flag of args.flags.keys()) {
    if (flag !== '--out')
      throw new LabInputError(
        'bulwark demo takes only --out; use `bulwark lab <scenario> --config … --duration …`',
      );
  }
  const color = useColor(io.stdout);
  io.stdout.write(
    `bulwark demo: two short experiments against a fake API on this machine. Each compares a plain\n` +
      `client (no retries, no circuit breaker) with bulwark's defaults under the same load and faults,\n` +
      `and gives a verdict: do the defaults do at least as well? About 30 s.\n\n`,
  );
  const all: ScenarioRuns[] = [];
  const names = ['outage', 'overload'];
  for (const [i, name] of names.entries()) {
    const scenario = await loadScenario(name);
    all.push(await runMany(io, out, scenario, 1, `[${i + 1}/${names.length}] `, color));
  }
  io.stdout.write(
    `${summaryLines(all).join('\n')}\n\n` +
      `Reports (open in a browser; they work offline):\n${all.flatMap((r) => r.reports.map((f) => `  ${f}`)).join('\n')}\n\n` +
      `Next: \`npm run lab -- all\` runs every scenario (${builtinScenarios().join(', ')}) with a verdict each;\n` +
      `add \`--config my-client.json\` to try your own options. See docs/lab.md.\n`,
  );
  return 0;
}

async function lab(io: CliIo, out: string, args: Args, rest: readonly string[]): Promise<number> {
  if (rest.length === 0) {
    io.stdout.write(`Built-in scenarios:\n`);
    for (const name of builtinScenarios()) {
      const s = await loadScenario(name);
      io.stdout.write(`  ${name.padEnd(12)} ${renderText(s, s.description)}\n`);
    }
    io.stdout.write(
      `\nRun one with \`bulwark lab <scenario>\`, all of them with \`bulwark lab all\` (npm: \`npm run lab -- <scenario>\`).\n`,
    );
    return 0;
  }
  if (rest.length > 1) throw new LabInputError(`bulwark lab: one scenario at a time (got ${rest.join(' ')})`);
  const names = rest[0] === 'all' ? builtinScenarios() : [rest[0]!];
  const runs = integerFlag(args, '--runs', 1, 100) ?? 1;
  const config = args.flags.get('--config');
  const yours = config === undefined ? undefined : await loadClientConfig(config, io.cwd);
  const jsonFile = args.flags.get('--json');
  const color = useColor(io.stdout);
  const all: ScenarioRuns[] = [];
  for (const [i, name] of names.entries()) {
    let scenario = await loadScenario(name, io.cwd);
    const duration = args.flags.get('--duration');
    if (duration !== undefined) {
      const seconds = Number(duration);
      if (!Number.isFinite(seconds) || seconds < 1 || seconds > 3600) {
        throw new LabInputError(`bulwark lab: --duration is "${duration}", expected seconds from 1 to 3600`);
      }
      scenario = withDuration(scenario, seconds * 1000);
    }
    const seed = integerFlag(args, '--seed', 0, 2 ** 32 - 1);
    if (seed !== undefined) scenario = { ...scenario, seed };
    if (yours !== undefined) scenario = { ...scenario, clients: [PLAIN_CLIENT, DEFAULT_CLIENT, yours] };
    const prefix = names.length > 1 ? `[${i + 1}/${names.length}] ` : '';
    all.push(await runMany(io, out, scenario, runs, prefix, color));
  }
  const checked = ['defaults', ...(yours === undefined ? [] : [yours.name])];
  if (names.length > 1 || runs > 1) {
    for (const name of checked) io.stdout.write(`${summaryLines(all, name).join('\n')}\n\n`);
  }
  for (const runsOf of all) for (const report of runsOf.reports) io.stdout.write(`Report: ${report}\n`);
  if (jsonFile !== undefined) {
    const file = resolve(io.cwd ?? process.cwd(), jsonFile);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, `${JSON.stringify(jsonReport(all, checked), null, 2)}\n`);
    io.stdout.write(`JSON: ${shown(io, file)}\n`);
  }
  const failed = all.some((r) =>
    r.results.some((x) => x.verdicts.some((v) => checked.includes(v.config) && v.outcome !== 'pass')),
  );
  return args.flags.has('--check') && failed ? 3 : 0;
}

function integerFlag(args: Args, flag: string, min: number, max: number): number | undefined {
  const raw = args.flags.get(flag);
  if (raw === undefined) return undefined;
  if (!/^\d{1,10}$/.test(raw) || Number(raw) < min || Number(raw) > max)
    throw new LabInputError(`bulwark lab: ${flag} is "${raw}", expected an integer from ${min} to ${max}`);
  return Number(raw);
}

/** Runs a scenario `runs` times (seed, seed + 1, …), each with its summary and report; then the spread. */
async function runMany(
  io: CliIo,
  out: string,
  scenario: Scenario,
  runs: number,
  prefix: string,
  color: boolean,
): Promise<ScenarioRuns> {
  const results: LabResult[] = [];
  const reports: string[] = [];
  for (let k = 0; k < runs; k++) {
    const run = runs === 1 ? scenario : { ...scenario, seed: (scenario.seed + k) % 2 ** 32 };
    const label = runs === 1 ? prefix : `${prefix}run ${k + 1}/${runs}, seed ${run.seed}: `;
    const { result, report } = await runOne(io, out, run, label, color, runs === 1 ? '' : `-run${k + 1}`);
    results.push(result);
    reports.push(report);
  }
  const many = { name: scenario.name, results, reports };
  if (runs > 1) io.stdout.write(`${spreadLines(many).join('\n')}\n\n`);
  return many;
}

/** Runs a scenario with a progress bar, prints its summary, writes its report. */
async function runOne(
  io: CliIo,
  out: string,
  scenario: Scenario,
  prefix: string,
  color: boolean,
  suffix: string,
): Promise<{ result: LabResult; report: string }> {
  const configs = scenario.clients.map((c) => c.name).join(', ');
  io.stdout.write(
    `${prefix}${scenario.name}: ${(scenario.duration / 1000).toFixed(0)} s, ${formatLoad(scenario.load)}, comparing ${configs}\n` +
      `  upstream: ${scenario.phases.length === 0 ? 'healthy' : scenario.phases.map((p) => `${describePhase(p)} from ${formatSeconds(p.from)} to ${formatSeconds(p.to)} s`).join(', ')}\n`,
  );
  const bar = createProgressBar(io.stdout, scenario.name);
  let result: LabResult;
  try {
    const run = await runScenario(scenario, {
      onProgress: (p) => bar.update(p),
      ...(io.bulwark === undefined ? {} : { bulwark: io.bulwark }),
    });
    result = summarize(run);
  } finally {
    bar.done();
  }
  io.stdout.write(`${renderSummary(result, color)}\n`);
  await mkdir(out, { recursive: true });
  const stamp = result.startedAt.replace(/\.\d+Z$/, '').replace(/:/g, '-');
  const file = join(out, `${scenario.name}-${stamp}${suffix}.html`);
  await writeFile(file, renderHtmlReport(result));
  return { result, report: shown(io, file) };
}

function shown(io: CliIo, file: string): string {
  const path = relative(io.cwd ?? process.cwd(), file);
  return path.startsWith('..') ? file : path;
}

/**
 * Runs the CLI as a process: sets the exit code, and ends quietly when the reader of stdout goes
 * away (`bulwark lab | head`).
 */
export async function run(argv: readonly string[]): Promise<void> {
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit(process.exitCode ?? 0);
  });
  process.exitCode = await main(argv);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  await run(process.argv.slice(2));
}
