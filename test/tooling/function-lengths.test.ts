// No function of src/ is longer than 60 lines (STYLE.md): each is found by the TypeScript parser, nested ones too.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { functionLengths, longFunctions } from './function-lengths.js';

const MAX_LINES = 60;

/**
 * Functions let through for now, each with its reason; any other long function fails. One that
 * is no longer long is reported as a diagnostic, so the list is cut when it lands.
 */
const PENDING = new Map<string, string>([]);

describe('function lengths', () => {
  test(`no function of src/ is over ${MAX_LINES} lines`, (t) => {
    const found = longFunctions(MAX_LINES);
    const named = (fn: { at: string; name: string }): string => `${fn.at.replace(/:\d+$/, '')} ${fn.name}`;
    const long = found
      .filter((fn) => !PENDING.has(named(fn)))
      .map((fn) => `${fn.at} ${fn.name}: ${fn.lines} lines`);
    assert.deepEqual(long, [], `split these into named parts that read top-down`);
    for (const [name, reason] of PENDING) {
      if (found.some((fn) => named(fn) === name))
        t.diagnostic(`still over ${MAX_LINES} lines: ${name} (${reason})`);
      else t.diagnostic(`no longer over ${MAX_LINES} lines, cut it from PENDING: ${name}`);
    }
  });

  test('finds declarations, methods, constructors, accessors, arrows and function expressions, nested too', () => {
    const body = (n: number): string =>
      Array.from({ length: n }, (_, i) => `  const v${i} = ${i};`).join('\n');
    const text = [
      `export function declared(): void {\n${body(3)}\n}`,
      `const arrow = (): void => {\n${body(4)}\n};`,
      `const expression = function (): void {\n${body(5)}\n};`,
      `class Policy {\n  constructor() {\n${body(1)}\n  }\n  run(): void {\n${body(2)}\n  }\n  get size(): number {\n    return 1;\n  }\n}`,
      `function outer(): void {\n  [1].map((x) => {\n${body(2)}\n    return x;\n  });\n}`,
      `/**\n * A JSDoc above is not counted.\n */\nfunction documented(): void {}`,
    ].join('\n');
    const found = functionLengths('made.ts', text).map((fn) => [fn.name, fn.lines]);
    assert.deepEqual(found, [
      ['declared', 5],
      ['arrow', 6],
      ['expression', 7],
      ['Policy.constructor', 3],
      ['Policy.run', 4],
      ['Policy.size', 3],
      ['outer', 7],
      ['(callback of [1].map)', 5],
      ['documented', 1],
    ]);
  });
});
