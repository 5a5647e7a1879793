/**
 * Finding and reading the lab's inputs: built-in scenarios (lab/scenarios/*.json, shipped with
 * the package), user scenario files, and `--config` client options (JSON, or a module).
 */
import { existsSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, extname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseClientOptions, parseScenario, ScenarioError } from './parse-scenario.js';
import type { ClientConfig, Scenario } from './scenario.js';

/** A problem with what the user asked for (unknown scenario, missing file): print the message, not a stack. */
export class LabInputError extends Error {
  override readonly name = 'LabInputError';
}

/** The folder holding the built-in scenarios: lab/scenarios beside the sources, or in the package root once built. */
export function scenarioDir(): string {
  const here = fileURLToPath(new URL('.', import.meta.url));
  const candidates = [resolve(here, '../scenarios'), resolve(here, '../../../lab/scenarios')];
  const found = candidates.find((dir) => existsSync(resolve(dir, 'outage.json')));
  if (found === undefined)
    throw new LabInputError(`bulwark lab: built-in scenarios not found (looked in ${candidates.join(', ')})`);
  return found;
}

/** Names of the built-in scenarios, sorted. */
export function builtinScenarios(): string[] {
  return readdirSync(scenarioDir())
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -5))
    .sort();
}

/** Loads a built-in scenario by name, or a scenario file by path (relative to `cwd`). */
export async function loadScenario(nameOrPath: string, cwd = process.cwd()): Promise<Scenario> {
  const isPath = nameOrPath.includes('/') || nameOrPath.includes('\\') || nameOrPath.endsWith('.json');
  const file = isPath ? resolve(cwd, nameOrPath) : resolve(scenarioDir(), `${nameOrPath}.json`);
  if (!existsSync(file)) {
    const list = builtinScenarios().join(', ');
    throw new LabInputError(
      isPath
        ? `bulwark lab: no scenario file at ${file}`
        : `bulwark lab: no built-in scenario "${nameOrPath}" (built-in: ${list}; or pass a path to a .json file)`,
    );
  }
  return parseScenario(await readJson(file), isPath ? nameOrPath : `${nameOrPath}.json`);
}

/**
 * Loads `--config`: a JSON file of `createClient` options, or a .js/.mjs/.ts module whose default
 * export (or `options` export) is the options object, or a function returning it (called again
 * for each run). The configuration is named after the file.
 * `path` is relative to `cwd`.
 */
export async function loadClientConfig(path: string, cwd = process.cwd()): Promise<ClientConfig> {
  const file = resolve(cwd, path);
  if (!existsSync(file)) throw new LabInputError(`bulwark lab: --config: no file at ${file}`);
  const ext = extname(file);
  let value: unknown;
  if (ext === '.json') {
    value = await readJson(file);
  } else if (['.js', '.mjs', '.cjs', '.ts', '.mts'].includes(ext)) {
    let mod: Record<string, unknown>;
    try {
      mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
    } catch (error) {
      const hint = ext.endsWith('ts')
        ? ' (a .ts config needs TypeScript support: Node 22.18 and later load it as it is if it uses only erasable syntax;' +
          ' otherwise install tsx and run `NODE_OPTIONS=--import=tsx npx bulwark lab …`, or use .js/.json)'
        : '';
      throw new LabInputError(
        `bulwark lab: --config: cannot load ${file}: ${(error as Error).message}${hint}`,
      );
    }
    value = mod['default'] ?? mod['options'];
    if (value === undefined)
      throw new ScenarioError(
        path,
        'default export',
        'is missing: export the client options as `export default { … }`',
      );
  } else {
    throw new LabInputError(`bulwark lab: --config: ${file} is not .json, .js, .mjs or .ts`);
  }
  let create: (() => Record<string, unknown>) | undefined;
  if (typeof value === 'function') {
    const factory = value as () => unknown;
    create = () => parseClientOptions(path, factory(), 'default export()');
    value = create();
  }
  const options = parseClientOptions(path, value, 'options');
  let name =
    basename(file, ext)
      .replace(/[^a-z0-9_.-]/gi, '-')
      .slice(0, 32) || 'yours';
  if (name === 'plain' || name === 'defaults' || !/^[a-z0-9]/i.test(name))
    name = `yours-${name}`.slice(0, 32);
  return create === undefined ? { name, options } : { name, options, create };
}

async function readJson(file: string): Promise<unknown> {
  const text = await readFile(file, 'utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new LabInputError(`bulwark lab: ${file} is not valid JSON: ${(error as Error).message}`);
  }
}
