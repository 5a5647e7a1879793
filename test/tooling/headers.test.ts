// Every file of src/ opens with a comment that says what it is, before its first import.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SRC, sourceFiles } from './import-graph.js';

test('every src/**/*.ts starts with a comment', () => {
  const files = sourceFiles();
  assert.ok(files.length > 90, `found ${files.length} files under src/`);
  const bare = files.filter((file) => !/^(\/\/ \S|\/\*\*?\s*\S)/.test(readFileSync(join(SRC, file), 'utf8')));
  assert.deepEqual(bare, [], 'these files open without a header comment');
});
