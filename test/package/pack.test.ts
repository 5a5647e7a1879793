/**
 * The package as users get it: `npm pack` of a copy of the repository (so this run's dist/ is
 * left alone), checked by publint and arethetypeswrong, installed into a scratch project from the
 * tarball alone (its one dependency, undici, from the npm cache), then used from there: ESM
 * TypeScript compiled with `moduleResolution` nodenext and bundler, a CommonJS `require`, the
 * three entry points, a call to a loopback server and the `bulwark` command.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = (name: string): string => join(root, 'node_modules', '.bin', name);

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command; never rejects on a non-zero exit (the caller asserts on it). */
function run(command: string, args: readonly string[], cwd: string): Promise<Run> {
  // Not this test runner's child protocol, not coverage, not the repository's tsx hooks.
  const { NODE_TEST_CONTEXT: _c, NODE_V8_COVERAGE: _v, NODE_OPTIONS: _o, ...env } = process.env;
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code, stdout, stderr }));
  });
}

function ok(r: Run, what: string): Run {
  assert.equal(r.code, 0, `${what} exited ${String(r.code)}\n${r.stdout}\n${r.stderr}`);
  return r;
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(full)));
    else out.push(full);
  }
  return out;
}

/** What the scratch project runs: a loopback server, a call through each way of loading bulwark. */
const USE = `
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createClient, isBulwarkError } from 'bulwark';
import { createVirtualClock, mockTransport } from 'bulwark/testing';
import { redisStore } from 'bulwark/redis';

const server = createServer((_req, res) => res.end('hello from loopback'));
await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
const { port } = server.address() as AddressInfo;
const client = createClient({ name: 'scratch', baseUrl: \`http://127.0.0.1:\${port}\` });
const res = await client.get('/');
const body: string = await res.text();
await client.close();
server.close();

const mock = mockTransport();
mock.on('GET', '/users/:id').reply(200, { id: 1 });
const mocked = createClient({ baseUrl: 'https://users.test', transport: mock, clock: createVirtualClock() });
const user = await (await mocked.get('/users/:id', { params: { id: 1 } })).json<{ id: number }>();
await mocked.close();

let redis = 'no error';
try {
  redisStore({ client: 42 as never });
} catch (error) {
  redis = isBulwarkError(error) ? error.code : String(error);
}
console.log(JSON.stringify({ status: res.status, body, user: user.id, redis }));
`;

const CJS = `
const { createClient } = require('bulwark');
const { mockTransport } = require('bulwark/testing');
const { redisStore } = require('bulwark/redis');
const { createServer } = require('node:http');
const server = createServer((_req, res) => res.end('hello from require'));
server.listen(0, '127.0.0.1', async () => {
  const client = createClient({ baseUrl: 'http://127.0.0.1:' + server.address().port });
  const res = await client.get('/');
  const body = await res.text();
  await client.close();
  server.close();
  console.log(JSON.stringify({ status: res.status, body, kinds: [typeof mockTransport, typeof redisStore] }));
});
`;

/** A CommonJS TypeScript module: compiles to `require('bulwark')` (TypeScript 5.8+, nodenext). */
const CTS = `
import { createClient, type ClientOptions } from 'bulwark';
const options: ClientOptions = { baseUrl: 'http://127.0.0.1:1' };
export const client = createClient(options);
`;

function tsconfig(module: string, moduleResolution: string, extra: Record<string, unknown>): string {
  return JSON.stringify({
    compilerOptions: {
      target: 'ES2022',
      module,
      moduleResolution,
      strict: true,
      exactOptionalPropertyTypes: true,
      skipLibCheck: module !== 'nodenext',
      types: ['node'],
      typeRoots: [join(root, 'node_modules', '@types')],
      ...extra,
    },
    include: ['src'],
  });
}

describe('the packed package, installed into a scratch project', { timeout: 240_000 }, () => {
  let scratch: string;
  let tarball: string;
  let app: string;

  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'bulwark-pack-'));
    const stage = join(scratch, 'repo');
    await mkdir(stage);
    const copied = [
      'package.json',
      'README.md',
      'LICENSE',
      'SECURITY.md',
      'tsconfig.json',
      'tsconfig.build.json',
    ];
    for (const f of copied) await cp(join(root, f), join(stage, f));
    for (const d of ['src', 'lab', 'bin', 'docs']) {
      await cp(join(root, d), join(stage, d), {
        recursive: true,
        filter: (source) => !source.startsWith(join(root, 'lab', 'reports')),
      });
    }
    await symlink(join(root, 'node_modules'), join(stage, 'node_modules'), 'dir');
    // `prepack` builds dist/ in the copy.
    const packed = ok(await run('npm', ['pack', '--json', '--pack-destination', scratch], stage), 'npm pack');
    const [{ filename }] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as [
      { filename: string },
    ];
    tarball = join(scratch, filename);

    app = join(scratch, 'app');
    await mkdir(join(app, 'src'), { recursive: true });
    await writeFile(
      join(app, 'package.json'),
      JSON.stringify({
        name: 'scratch-app',
        private: true,
        type: 'module',
        dependencies: { bulwark: `file:${tarball}` },
      }),
    );
    ok(
      await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts'], app),
      'npm install of the tarball',
    );
  });

  after(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  test('publint and arethetypeswrong find nothing wrong', async () => {
    ok(await run(bin('publint'), ['run', tarball, '--strict'], scratch), 'publint');
    // bulwark is ESM only: a CommonJS require() of it loads ESM, which Node does from 20.19 (the
    // floor in engines) and TypeScript allows under module nodenext (see the CommonJS tests). Every
    // other rule holds, node10 resolution of the subpaths included (typesVersions).
    const attw = ok(
      await run(
        bin('attw'),
        [tarball, '--ignore-rules', 'cjs-resolves-to-esm', '--format', 'ascii'],
        scratch,
      ),
      'attw',
    );
    assert.match(attw.stdout, /No problems found/);
  });

  test('ships the license, the docs its README links to, no source maps and no internal types', async () => {
    const pkg = join(app, 'node_modules', 'bulwark');
    const files = (await filesUnder(pkg)).map((f) => relative(pkg, f));
    assert.ok(files.includes('LICENSE'));
    assert.deepEqual(
      files.filter((f) => f.endsWith('.map')),
      [],
    );
    assert.deepEqual(
      files.filter((f) => f.startsWith('dist/lab/') && f.endsWith('.d.ts')),
      [],
    );
    const response = await readFile(join(pkg, 'dist/src/http/response.d.ts'), 'utf8');
    assert.doesNotMatch(response, /bindCall|@internal/);
    for (const md of files.filter((f) => f.endsWith('.md'))) {
      const text = await readFile(join(pkg, md), 'utf8');
      for (const [, target] of text.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
        if (/^[a-z]+:/.test(target!)) continue;
        const file = resolve(dirname(join(pkg, md)), target!);
        assert.ok(existsSync(file), `${md} links to ${target!}, which the package does not ship`);
      }
    }
  });

  test('ESM TypeScript with moduleResolution nodenext and bundler compiles, and the compiled call runs', async () => {
    await writeFile(join(app, 'src', 'use.ts'), USE);
    await writeFile(join(app, 'src', 'legacy.cts'), CTS);
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    await writeFile(join(app, 'tsconfig.json'), tsconfig('nodenext', 'nodenext', { outDir: 'out' }));
    await writeFile(join(app, 'tsconfig.bundler.json'), tsconfig('preserve', 'bundler', { noEmit: true }));
    ok(await run(process.execPath, [tsc, '-p', 'tsconfig.json'], app), 'tsc (nodenext)');
    ok(await run(process.execPath, [tsc, '-p', 'tsconfig.bundler.json'], app), 'tsc (bundler)');
    const out = ok(await run(process.execPath, ['out/use.js'], app), 'the compiled ESM program');
    assert.deepEqual(JSON.parse(out.stdout), {
      status: 200,
      body: 'hello from loopback',
      user: 1,
      redis: 'INVALID_OPTIONS',
    });
    assert.match(await readFile(join(app, 'out', 'legacy.cjs'), 'utf8'), /require\("bulwark"\)/);
  });

  test('CommonJS require() loads the three entry points and makes a call', async () => {
    await writeFile(join(app, 'use.cjs'), CJS);
    const out = ok(await run(process.execPath, ['use.cjs'], app), 'the CommonJS program');
    assert.deepEqual(JSON.parse(out.stdout), {
      status: 200,
      body: 'hello from require',
      kinds: ['function', 'function'],
    });
  });

  test('the bulwark command runs a scenario, and every hint names a command that works here', async () => {
    // Run with this test's Node, not whichever `node` the bin's shebang finds first on PATH.
    const cli = (args: readonly string[]): Promise<Run> =>
      run(process.execPath, [join(app, 'node_modules', '.bin', 'bulwark'), ...args], app);
    const help = ok(await cli(['--help']), 'bulwark --help');
    const list = ok(await cli(['lab']), 'bulwark lab');
    const lab = ok(await cli(['lab', 'flaky', '--duration', '1', '--out', 'reports']), 'bulwark lab flaky');
    assert.match(lab.stdout, /Report: reports\/flaky-[\dT-]+\.html\n$/);
    // A .ts config: Node 22.18+ strips its types; older lines say how to run it.
    await writeFile(
      join(app, 'mine.ts'),
      'const options: { retry: object } = { retry: {} };\nexport default options;\n',
    );
    const ts = await cli(['lab', 'flaky', '--config', 'mine.ts', '--duration', '1', '--out', 'reports']);
    const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
    if (major > 22 || (major === 22 && minor >= 18)) {
      ok(ts, 'bulwark lab --config mine.ts');
      assert.match(ts.stdout, /comparing plain, defaults, mine\n/);
    } else {
      assert.equal(ts.code, 2, ts.stderr);
      assert.match(ts.stderr, /install tsx and run `NODE_OPTIONS=--import=tsx npx bulwark lab …`/);
    }
    for (const text of [help.stdout, list.stdout, lab.stdout, ts.stdout, ts.stderr]) {
      assert.doesNotMatch(text, /npm run|tsx lab\/cli/, text);
    }
    assert.match(list.stdout, /Run one with `npx bulwark lab <scenario>`/);
    assert.match(help.stdout, /Guide: docs\/lab\.md in the bulwark package/);
  });
});
