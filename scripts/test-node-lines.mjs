#!/usr/bin/env node
// Runs the test suite on each supported Node line other than the one running this script (or on
// the majors given as arguments: `node scripts/test-node-lines.mjs 22 24`). The binaries come
// from the npm registry (the node-<platform>-<arch> package of each version ships bin/node) and
// are kept in a cache directory outside the repository. One line after another: each suite
// already uses both cores, and the timing-sensitive tests want them.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** The version tested for each supported line; `engines` in package.json says the range. */
const LINES = { 20: '20.20.2', 22: '22.23.5', 24: '24.22.3', 26: '26.12.1' };

const root = new URL('..', import.meta.url).pathname;
const cache =
  process.env['BULWARK_NODE_CACHE'] ??
  join(process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'bulwark', 'node');
const own = process.versions.node.split('.')[0];
const asked = process.argv.slice(2);
const majors = asked.length > 0 ? asked : Object.keys(LINES).filter((m) => m !== own);

function log(line) {
  process.stdout.write(`node-lines: ${line}\n`);
}

/** Installs node-<platform>-<arch>@version into the cache (once) and returns its binary. */
function nodeBinary(version) {
  const pkg = `node-${process.platform}-${process.arch}`;
  const dir = join(cache, version);
  const bin = join(dir, 'node_modules', pkg, 'bin', 'node');
  if (existsSync(bin)) return bin;
  log(`installing Node ${version}: npm install --prefix ${dir} ${pkg}@${version}`);
  const npm = spawnSync(
    'npm',
    [
      'install',
      '--prefix',
      dir,
      '--no-save',
      '--no-package-lock',
      '--no-audit',
      '--no-fund',
      `${pkg}@${version}`,
    ],
    { stdio: 'inherit' },
  );
  if (npm.status !== 0 || !existsSync(bin)) throw new Error(`could not install ${pkg}@${version}`);
  return bin;
}

/** Runs the suite with `bin`, passing its output through; resolves to its counts. */
function runSuite(bin) {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, ['scripts/run-tests.mjs'], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
    // The whole output: the spec reporter prints its summary before the failures' details.
    let output = '';
    child.stdout.on('data', (chunk) => {
      process.stdout.write(chunk);
      output += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      // TAP (`# pass 3`) on Node 20 and 22 when piped, the spec reporter (`ℹ pass 3`) after.
      const count = (word) =>
        Number([...output.matchAll(new RegExp(`^(?:#|ℹ) ${word} (\\d+)$`, 'gm'))].at(-1)?.[1] ?? NaN);
      resolve({ code, pass: count('pass'), fail: count('fail') });
    });
  });
}

const results = [];
for (const major of majors) {
  const version = LINES[major];
  if (version === undefined) {
    log(`no tested version for Node ${major} (supported: ${Object.keys(LINES).join(', ')})`);
    process.exit(2);
  }
  const bin = nodeBinary(version);
  log(`Node ${version}: the whole suite`);
  const started = Date.now();
  const r = await runSuite(bin);
  results.push({ version, ...r, seconds: Math.round((Date.now() - started) / 1000) });
}

let pass = 0;
let fail = 0;
for (const r of results) {
  const ok = r.code === 0 && r.fail === 0 && r.pass > 0;
  log(`Node ${r.version}: ${ok ? 'green' : 'FAILED'}, ${r.pass} passed, ${r.fail} failed, ${r.seconds} s`);
  pass += Number.isNaN(r.pass) ? 0 : r.pass;
  fail += Number.isNaN(r.fail) || r.code !== 0 ? Math.max(1, r.fail || 0) : r.fail;
}
process.stdout.write(`node-lines: ${pass} passed, ${fail} failed\n`);
process.exit(results.every((r) => r.code === 0 && r.fail === 0 && r.pass > 0) ? 0 : 1);
