#!/usr/bin/env node
// Runs every test file under test/ with node:test through tsx. Node 20's `--test` takes no
// globs, so the files are listed here. Pass paths or substrings to run a subset.
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { checkPrerequisites } from './test-prerequisites.mjs';

const root = new URL('..', import.meta.url).pathname;

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) out.push(...walk(full));
    else if (name.endsWith('.test.ts')) out.push(relative(root, full));
  }
  return out;
}

const filters = process.argv.slice(2);
let files = walk(join(root, 'test')).sort();
if (filters.length > 0) files = files.filter((f) => filters.some((s) => f.includes(s)));
if (files.length === 0) {
  console.error('run-tests: no test file matched', filters);
  process.exit(1);
}
checkPrerequisites(root, files);

const child = spawn(
  process.execPath,
  [
    '--import',
    'tsx',
    '--import',
    './test/helpers/unhandled-preload.ts',
    '--test',
    '--test-concurrency=2',
    // A file that hangs fails after this; on a loaded machine a whole file (the package test,
    // the examples, the lab) can legitimately take a couple of minutes.
    '--test-timeout=240000',
    ...files,
  ],
  { cwd: root, stdio: 'inherit', env: { ...process.env, BULWARK_TEST_SUITE: '1' } },
);
child.on('error', (error) => {
  console.error(`run-tests: cannot start ${process.execPath}: ${error.message}`);
  process.exit(1);
});
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
