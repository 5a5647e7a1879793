/**
 * The clients compared by the benchmarks, each reading the whole body of every response.
 * Every one gets 50 keep-alive connections to the upstream, bulwark's default.
 */
import * as http from 'node:http';
import { Agent, Pool, request, fetch, type Dispatcher } from 'undici';
import type * as Bulwark from '../src/index.js';
import type { ClientOptions } from '../src/index.js';

// The built package, as users run it (`bench/run.ts` builds it first). Through tsx, esbuild's
// keepNames wraps every closure created on a hot path in a `__name` call, a cost bulwark's users
// never pay; BULWARK_BENCH_SRC=1 measures src/ through tsx instead. The path sits in a variable
// so type checking does not need a build.
const entry = process.env['BULWARK_BENCH_SRC'] === '1' ? '../src/index.js' : '../dist/src/index.js';
const { createClient } = (await import(entry)) as typeof Bulwark;

export interface BenchClient {
  call(): Promise<unknown>;
  close(): Promise<void>;
}

const CONNECTIONS = 50;

function bulwark(options: ClientOptions) {
  return (url: string): BenchClient => {
    const client = createClient({ baseUrl: url, ...options });
    return { call: async () => (await client.get('/')).text(), close: () => client.close() };
  };
}

/** Every policy off: the bare path. */
export const bareOptions: ClientOptions = {
  retry: false,
  circuitBreaker: false,
  timeout: false,
  deadline: false,
  requestIdHeader: false,
  telemetry: false,
};

export const clients: Record<string, (url: string) => BenchClient | Promise<BenchClient>> = {
  'undici.request': (url) => {
    const dispatcher = new Agent({ connections: CONNECTIONS });
    return {
      call: async () => (await request(url, { dispatcher })).body.text(),
      close: () => dispatcher.close(),
    };
  },
  'undici.fetch': (url) => {
    const dispatcher = new Agent({ connections: CONNECTIONS });
    return { call: async () => (await fetch(url, { dispatcher })).text(), close: () => dispatcher.close() };
  },
  'undici Pool.request': (url) => {
    const pool = new Pool(new URL(url).origin, { connections: CONNECTIONS });
    const path = new URL(url).pathname;
    return {
      call: async () => (await pool.request({ path, method: 'GET' })).body.text(),
      close: () => pool.close(),
    };
  },
  // The floor for any client built on undici's pool: dispatch with a handler that only gathers the
  // body's chunks. No validation, timeouts, errors mapped or headers parsed; not a client anyone
  // should ship, it shows how much of a ratio is undici's and the kernel's own work.
  'undici Pool.dispatch': (url) => {
    const pool = new Pool(new URL(url).origin, { connections: CONNECTIONS });
    const path = new URL(url).pathname;
    const handler = (
      resolve: (text: string) => void,
      reject: (error: Error) => void,
    ): Dispatcher.DispatchHandler => {
      const chunks: Buffer[] = [];
      // The classic handler methods, as bulwark's transport uses (see undici-transport.ts).
      /* eslint-disable @typescript-eslint/no-deprecated */
      return {
        onConnect: () => undefined,
        onHeaders: () => true,
        onData: (chunk: Buffer) => {
          chunks.push(chunk);
          return true;
        },
        onComplete: () => {
          resolve(Buffer.concat(chunks).toString());
        },
        onError: reject,
      };
      /* eslint-enable @typescript-eslint/no-deprecated */
    };
    return {
      call: () =>
        new Promise<string>((resolve, reject) => {
          pool.dispatch({ path, method: 'GET' }, handler(resolve, reject));
        }),
      close: () => pool.close(),
    };
  },
  'bulwark (bare)': bulwark(bareOptions),
  'bulwark (defaults)': bulwark({}),
  'bulwark (retry)': bulwark({ ...bareOptions, retry: {} }),
  'bulwark (breaker+rate limit)': bulwark({
    ...bareOptions,
    circuitBreaker: {},
    rateLimit: { requests: 1e9, per: 'second' },
  }),
  got: async (url) => {
    const { default: got } = await import('got');
    const agent = new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS });
    const instance = got.extend({ agent: { http: agent }, retry: { limit: 0 } });
    return {
      call: () => instance.get(url).text(),
      close: () => {
        agent.destroy();
        return Promise.resolve();
      },
    };
  },
  axios: async (url) => {
    const { default: axios } = await import('axios');
    const agent = new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS });
    const instance = axios.create({ httpAgent: agent, responseType: 'text' });
    return {
      call: () => instance.get(url),
      close: () => {
        agent.destroy();
        return Promise.resolve();
      },
    };
  },
  ky: async (url) => {
    const { default: ky } = await import('ky');
    return { call: () => ky.get(url, { retry: 0 }).text(), close: () => Promise.resolve() };
  },
};
