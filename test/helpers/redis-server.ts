/**
 * A real `redis-server` on a free loopback port, for the Redis store tests. No persistence
 * (`--save '' --appendonly no`), so a restart on the same port comes back empty, as after a
 * crash of a cache node. `BULWARK_SKIP_REDIS=1` skips the Redis tests; without it a missing
 * binary fails them with a message saying how to install it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createConnection, createServer } from 'node:net';

const BINARY = process.env['BULWARK_REDIS_SERVER'] ?? 'redis-server';

/** `{ skip }` for `describe(name, redisTestOptions(), fn)`: skipped only when asked. */
export function redisTestOptions(): { skip?: string } {
  return process.env['BULWARK_SKIP_REDIS'] === '1' ? { skip: 'BULWARK_SKIP_REDIS=1' } : {};
}

/** Throws a clear error when `redis-server` cannot run on this machine. */
export function assertRedisInstalled(): void {
  const probe = spawnSync(BINARY, ['--version'], { encoding: 'utf8' });
  if (probe.error !== undefined || probe.status !== 0) {
    throw new Error(
      `redis-server is not installed (tried \`${BINARY} --version\`): the Redis store tests need a real ` +
        'server. Install it with `apt-get install -y redis-server` (or `brew install redis`), point ' +
        'BULWARK_REDIS_SERVER at the binary, or set BULWARK_SKIP_REDIS=1 to skip these tests.',
    );
  }
}

/** Finds a port nothing listens on (the kernel picks it; the tiny race is acceptable in tests). */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  await once(server, 'close');
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

// The end of the RESP2 value starting at `at`, or -1 while it has not all arrived.
function endOf(data: string, at: number): number {
  const eol = data.indexOf('\r\n', at);
  if (eol === -1) return -1;
  const type = data[at];
  const n = Number(data.slice(at + 1, eol));
  if (type === '$') {
    if (n < 0) return eol + 2;
    const end = eol + 2 + n + 2;
    return Buffer.byteLength(data) >= end ? end : -1;
  }
  if (type === '*') {
    let next = eol + 2;
    for (let i = 0; i < n; i++) {
      next = endOf(data, next);
      if (next === -1) return -1;
    }
    return next;
  }
  return eol + 2;
}

/** Sends one inline command on a fresh connection and returns its whole reply as raw RESP text (tests only). */
export function rawCommand(port: number, command: string, timeoutMs = 1_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let data = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`redis on ${port} did not answer \`${command}\` within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(`${command}\r\n`));
    socket.on('data', (chunk: string) => {
      data += chunk;
      if (endOf(data, 0) !== -1) {
        clearTimeout(timer);
        socket.end();
        resolve(data);
      }
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/** A running (or stopped, restartable) redis-server. */
export interface RedisServer {
  readonly port: number;
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  /** Kills the server and waits for the process to exit. `SIGKILL` simulates a crash. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Starts the server again on the same port, empty. */
  start(): Promise<void>;
  /** Freezes (`SIGSTOP`) or thaws (`SIGCONT`) the process: connections stay up, nothing answers. */
  pause(): void;
  resume(): void;
  readonly running: boolean;
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

async function waitForPong(port: number, child: ChildProcess, deadlineMs: number): Promise<void> {
  const until = Date.now() + deadlineMs;
  let last: unknown;
  while (Date.now() < until) {
    if (child.exitCode !== null)
      throw new Error(`redis-server exited with code ${child.exitCode} on port ${port}`);
    try {
      if ((await rawCommand(port, 'PING', 200)).startsWith('+PONG')) return;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`redis-server on port ${port} did not answer PING within ${deadlineMs} ms`, {
    cause: last,
  });
}

/** Starts `redis-server` on a free loopback port and waits until it answers PING. */
export async function startRedisServer(
  options: { port?: number; /** Extra `redis-server` arguments. */ args?: readonly string[] } = {},
): Promise<RedisServer> {
  assertRedisInstalled();
  const port = options.port ?? (await freePort());
  let child: ChildProcess | undefined;
  let stderr = '';

  const start = async (): Promise<void> => {
    if (child !== undefined) return;
    const args = [
      ...['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      ...(options.args ?? []),
    ];
    const proc = spawn(BINARY, [...args, '--loglevel', 'warning'], { stdio: ['ignore', 'ignore', 'pipe'] });
    proc.stderr.setEncoding('utf8');
    proc.stderr.on('data', (chunk: string) => (stderr += chunk));
    live.add(proc);
    proc.once('exit', () => live.delete(proc));
    child = proc;
    try {
      await waitForPong(port, proc, 5_000);
    } catch (error) {
      proc.kill('SIGKILL');
      child = undefined;
      throw new Error(`could not start redis-server: ${String(error)}\n${stderr}`, { cause: error });
    }
  };

  const stop = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<void> => {
    const proc = child;
    if (proc === undefined) return;
    child = undefined;
    if (proc.exitCode === null && proc.signalCode === null) {
      const exited = once(proc, 'exit');
      proc.kill('SIGCONT');
      proc.kill(signal);
      await exited;
    }
  };

  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    stop,
    start,
    pause: () => child?.kill('SIGSTOP'),
    resume: () => child?.kill('SIGCONT'),
    get running() {
      return child !== undefined;
    },
  };
}
