// No function of src/ is longer than 60 lines (STYLE.md): each is found by the TypeScript parser, nested ones too.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { functionLengths, longFunctions } from './function-lengths.js';

const MAX_LINES = 60;

describe('function lengths', () => {
  test(`no function of src/ is over ${MAX_LINES} lines`, () => {
    const long = longFunctions(MAX_LINES).map((fn) => `${fn.at} ${fn.name}: ${fn.lines} lines`);
    assert.deepEqual(long, [], `split these into named parts that read top-down`);
  });

  test('finds declarations, methods, constructors, accessors, arrows and function expressions, nested too', () => {
    const body = (n: number): string => Array.from({ length: n }, (_, i) => `  const v${i} = ${i};`).join('\n');
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
