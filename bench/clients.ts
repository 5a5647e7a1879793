/**
 * The clients compared by the benchmarks, each reading the whole body of every response.
 * Every one gets 50 keep-alive connections to the upstream, bulwark's default.
 */
import * as http from 'node:http';
import { Agent, Pool, request, fetch } from 'undici';
import { createClient, type ClientOptions } from '../src/index.js';

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
