/**
 * Starts the benchmarks' fixed-response upstream in its own process and returns its URL.
 *
 * `nginx` (the default when an nginx binary is found) answers every request from memory with
 * `return 200`: it costs a few µs a request, so at one request in flight the figures compare the
 * clients' own latency rather than the upstream's. `node` is bench/upstream.ts, a raw TCP server
 * in Node that needs nothing installed; its own per-request cost is larger and narrows every
 * ratio at one in flight. Both send the same headers and body.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export type UpstreamKind = 'nginx' | 'node';

export interface Upstream {
  readonly url: string;
  readonly kind: UpstreamKind;
  stop(): void;
}

export interface UpstreamOptions {
  /** `nginx`, `node`, or undefined for nginx when found, else node. */
  readonly kind?: string | undefined;
  /** A `cache-control` header value to add to every answer. */
  readonly cacheControl?: string | undefined;
  /** Pin the upstream to this core with taskset (when taskset exists). */
  readonly core?: string | undefined;
}

/** The body both upstreams send (bench/upstream.ts builds the same). */
export const BENCH_BODY = JSON.stringify({ ok: true, service: 'bench', items: [1, 2, 3] });

/** The nginx binary, or undefined. `BENCH_NGINX` names one elsewhere. */
export function findNginx(): string | undefined {
  const named = process.env['BENCH_NGINX'];
  if (named !== undefined) return named;
  for (const path of [
    '/usr/sbin/nginx',
    '/usr/local/sbin/nginx',
    '/usr/bin/nginx',
    '/opt/homebrew/bin/nginx',
  ]) {
    if (existsSync(path)) return path;
  }
  return spawnSync('nginx', ['-v'], { stdio: 'ignore' }).status === 0 ? 'nginx' : undefined;
}

export async function startUpstream(options: UpstreamOptions = {}): Promise<Upstream> {
  const nginx = findNginx();
  const kind = options.kind ?? (nginx === undefined ? 'node' : 'nginx');
  if (kind !== 'nginx' && kind !== 'node')
    throw new Error(`bench: --upstream is nginx or node, not "${kind}"`);
  if (kind === 'nginx' && nginx === undefined) {
    throw new Error(
      'bench: --upstream nginx needs nginx (apt-get install nginx, or BENCH_NGINX=/path/to/nginx)',
    );
  }
  if (nginx === undefined || kind === 'node') return startNode(options);
  return startNginx(nginx, options);
}

const hasTaskset = (): boolean => spawnSync('taskset', ['-c', '0', 'true']).status === 0;
const pinned = (core: string | undefined, cmd: string[]): string[] =>
  core !== undefined && hasTaskset() ? ['taskset', '-c', core, ...cmd] : cmd;

async function startNode(options: UpstreamOptions): Promise<Upstream> {
  const [cmd = process.execPath, ...args] = pinned(options.core, [
    process.execPath,
    '--import',
    'tsx',
    'bench/upstream.ts',
    '0',
  ]);
  const env = { ...process.env };
  if (options.cacheControl !== undefined) env['BENCH_CACHE_CONTROL'] = options.cacheControl;
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'], env });
  const [line] = (await once(createInterface({ input: child.stdout }), 'line')) as [string];
  return {
    url: `http://127.0.0.1:${line.split(' ')[1] ?? ''}/`,
    kind: 'node',
    stop: () => child.kill('SIGTERM'),
  };
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  server.close();
  await once(server, 'close');
  return port;
}

async function startNginx(binary: string, options: UpstreamOptions): Promise<Upstream> {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-bench-nginx-'));
  const port = await freePort();
  // One process (no master), no logs, connections kept for the whole run; every answer is the
  // same bytes bench/upstream.ts sends (nginx adds its own server and date headers).
  const cacheControl =
    options.cacheControl === undefined ? '' : `add_header cache-control "${options.cacheControl}";`;
  const body = BENCH_BODY.replaceAll("'", "\\'");
  writeFileSync(
    join(dir, 'nginx.conf'),
    `daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  keepalive_requests 1000000000;
  keepalive_timeout 300s;
  server_tokens off;
  server {
    listen 127.0.0.1:${port} reuseport backlog=4096;
    location / {
      default_type application/json;
      ${cacheControl}
      return 200 '${body}';
    }
  }
}
`,
  );
  const [cmd = binary, ...args] = pinned(options.core, [binary, '-p', dir, '-c', join(dir, 'nginx.conf')]);
  const child: ChildProcess = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  const url = `http://127.0.0.1:${port}/`;
  await waitUntilAnswering(url, child);
  return {
    url,
    kind: 'nginx',
    stop: () => {
      child.kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function waitUntilAnswering(url: string, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`bench: nginx exited with ${child.exitCode}`);
    const status = await new Promise<number>((resolve) => {
      const req = get(url, { agent: false }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', () => resolve(0)); // not listening yet
    });
    if (status === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error('bench: nginx did not answer within 5 s');
}
