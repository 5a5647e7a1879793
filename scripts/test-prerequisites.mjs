// What the test files need from the machine besides Node: a real redis-server for the Redis store
// tests and Chromium for the lab's report tests. A missing one is installed when this process
// may (root with apt-get); otherwise the run stops at once with one line naming the command.
// Skipping a group takes an explicit variable (the tests read it too and skip themselves), and
// each skipped group prints a line.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** A group of test files that needs one program. */
const GROUPS = [
  {
    name: 'Redis',
    marker: /from '\.\.\/helpers\/redis-server\.js'/,
    skipVariable: 'BULWARK_SKIP_REDIS',
    aptPackage: 'redis-server',
    present: () => runs(process.env['BULWARK_REDIS_SERVER'] ?? 'redis-server', ['--version']),
    otherwise: 'or point BULWARK_REDIS_SERVER at a redis-server binary (macOS: `brew install redis`)',
  },
  {
    name: 'browser (Chromium)',
    marker: /from '\.\/chromium\.js'/,
    skipVariable: 'BULWARK_SKIP_BROWSER',
    aptPackage: 'chromium',
    present: () => existsSync(process.env['BULWARK_CHROMIUM'] ?? '/usr/bin/chromium'),
    otherwise: 'or point BULWARK_CHROMIUM at a Chromium binary',
  },
];

function runs(command, args) {
  const probe = spawnSync(command, args, { stdio: 'ignore' });
  return probe.error === undefined && probe.status === 0;
}

function log(line) {
  process.stderr.write(`run-tests: ${line}\n`);
}

/**
 * Checks the programs the given test files need. Prints a line for each group skipped on
 * request; installs what is missing when it can, or exits the process with one line.
 */
export function checkPrerequisites(root, files) {
  const missing = [];
  for (const group of GROUPS) {
    const members = files.filter((f) => group.marker.test(readFileSync(join(root, f), 'utf8')));
    if (members.length === 0) continue;
    if (process.env[group.skipVariable] === '1') {
      log(`skipping the ${group.name} tests (${group.skipVariable}=1) in ${members.join(', ')}`);
    } else if (!group.present()) {
      missing.push(group);
    }
  }
  if (missing.length > 0) install(missing);
}

function install(missing) {
  const packages = missing.map((g) => g.aptPackage);
  const canInstall = process.getuid?.() === 0 && runs('apt-get', ['--version']);
  if (!canInstall) {
    const variables = missing.map((g) => `${g.skipVariable}=1`).join(' ');
    const others = missing.map((g) => g.otherwise).join('; ');
    log(
      `${packages.join(' and ')} missing: run \`sudo apt-get install -y ${packages.join(' ')}\`, ` +
        `${others}; or skip those tests with ${variables}`,
    );
    process.exit(1);
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [
    ['update', '-qq'],
    ['install', '-y', '-qq', '--no-install-recommends', ...packages],
  ]) {
    log(`${packages.join(' and ')} missing, installing: apt-get ${args.join(' ')}`);
    const result = spawnSync('apt-get', args, { stdio: ['ignore', 'ignore', 'inherit'], env });
    if (result.status !== 0) {
      log(
        `\`apt-get ${args.join(' ')}\` failed (exit ${String(result.status)}); install ${packages.join(' ')} by hand`,
      );
      process.exit(1);
    }
  }
  const still = missing.filter((g) => !g.present());
  if (still.length > 0) {
    log(
      `installed ${packages.join(' ')}, but ${still.map((g) => g.aptPackage).join(' ')} still does not run`,
    );
    process.exit(1);
  }
}
