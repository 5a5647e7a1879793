// The floors of src/ are checked: the lint rule refuses an upward import, and no file or folder is in an import circle.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ESLint, type Linter } from 'eslint';
import tseslint from 'typescript-eslint';
import { circles, floorGraph, importGraph, SRC } from './import-graph.js';

const root = join(SRC, '..');

async function floorLinter(): Promise<ESLint> {
  const config = (await import(pathToFileURL(join(root, 'eslint.config.js')).href)) as {
    floorRules: Linter.Config[];
  };
  // Only the floor rules, with the TypeScript parser and no type information: fast, and the
  // very entries `npm run lint` applies.
  return new ESLint({
    cwd: root,
    overrideConfigFile: true,
    overrideConfig: [{ languageOptions: { parser: tseslint.parser } }, ...config.floorRules],
  });
}

async function refusals(eslint: ESLint, file: string, specifier: string): Promise<string[]> {
  const text = `import type { X } from '${specifier}';\nexport type Y = X;\n`;
  const [result] = await eslint.lintText(text, { filePath: join(root, file) });
  return result!.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('the lint rule of the floors', () => {
  const upward: [file: string, specifier: string][] = [
    ['src/errors.ts', './http/response.js'],
    ['src/validate.ts', './client/client.js'],
    ['src/http/response.ts', '../pipeline/cancel.js'],
    ['src/http/body.ts', '../observability/redact.js'],
    ['src/policies/retry.ts', '../transport/attempt.js'],
    ['src/policies/concurrency/aimd.ts', '../../stores/redis.js'],
    ['src/transport/attempt.ts', '../pipeline/types.js'],
    ['src/stores/redis.ts', '../pipeline/types.js'],
    ['src/observability/otel.ts', '../client/options.js'],
    ['src/pipeline/compose.ts', '../client/client.js'],
    ['src/client/client.ts', '../testing/mock-transport.js'],
    ['src/testing/mock-transport.ts', '../client/client.js'],
  ];
  for (const [file, specifier] of upward) {
    test(`refuses ${specifier} from ${file}, naming the floor and the rule`, async () => {
      const eslint = await floorLinter();
      const [message, ...rest] = await refusals(eslint, file, specifier);
      assert.equal(rest.length, 0);
      const floor = /^(?:\.\/|(?:\.\.\/)+)([a-z]+)\//.exec(specifier)![1]!;
      assert.match(message ?? '', new RegExp(`src/${floor}/ stands above this file`));
      assert.match(message ?? '', /imports point downward: client → pipeline/);
    });
  }

  const downward: [file: string, specifier: string][] = [
    ['src/index.ts', './client/client.js'],
    ['src/client/client.ts', '../pipeline/types.js'],
    ['src/pipeline/types.ts', '../transport/attempt.js'],
    ['src/transport/attempt.ts', '../http/response.js'],
    ['src/stores/redis.ts', '../policies/store-contract.js'],
    ['src/http/response.ts', '../errors.js'],
    ['src/policies/concurrency/aimd.ts', '../../clock.js'],
    ['src/client/client.ts', './policies.js'],
  ];
  test('lets every downward or same-floor import through', async () => {
    const eslint = await floorLinter();
    for (const [file, specifier] of downward) {
      assert.deepEqual(await refusals(eslint, file, specifier), [], `${specifier} from ${file}`);
    }
  });
});

describe('the import graph of src/', () => {
  const graph = importGraph();

  test('is read: the entry point imports the client, the response imports the body', () => {
    assert.ok(graph.get('index.ts')?.includes('client/client.ts'));
    assert.ok(graph.get('http/response.ts')?.includes('http/body.ts'));
  });

  test('has no circle between folders', () => {
    assert.deepEqual(circles(floorGraph(graph)), []);
  });

  test('has no file circle (a circle is reported as a path)', () => {
    assert.deepEqual(circles(graph), []);
  });

  test('finds a circle and reports it as its path', () => {
    const made = new Map([
      ['a.ts', ['b.ts']],
      ['b.ts', ['c.ts']],
      ['c.ts', ['a.ts', 'd.ts']],
      ['d.ts', []],
    ]);
    assert.deepEqual(circles(made), ['a.ts → b.ts → c.ts → a.ts']);
  });

  test('nothing but the entry point imports client/', () => {
    const importers = [...graph]
      .filter(
        ([file, targets]) => !file.startsWith('client/') && targets.some((t) => t.startsWith('client/')),
      )
      .map(([file]) => file);
    assert.deepEqual(importers, ['index.ts']);
  });
});
