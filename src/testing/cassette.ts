/**
 * Record/replay cassettes (what ExVCR gives Hardhat users): record real exchanges once,
 * redacted, into `<dir>/<name>.json`, then replay them offline in every later run.
 */
import { existsSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { BulwarkResponse } from '../http/response.js';
import {
  asError,
  BulwarkError,
  bulwarkError,
  ERROR_TRAITS,
  invalidOption,
  isBulwarkError,
} from '../errors.js';
import { REDACTOR_OPTION_KEYS, Redactor, type RedactorOptions } from '../observability/redact.js';
import type { Attempt, PoolStats, Transport } from '../transport/attempt.js';
import { networkError } from '../transport/network-error.js';
import { UndiciTransport } from '../transport/undici-transport.js';
import { testModeFromEnv } from '../transport/test-mode.js';
import {
  bytesOf,
  contentType,
  describeRequest,
  encodeBody,
  load,
  recordHeaders,
  responseOf,
  sameRequest,
  type CassetteFile,
  type RecordedInteraction,
  type RecordedRequest,
} from './cassette-file.js';
import { checkBoolean, checkKeys, requireRecord } from '../validate.js';
import { testModeTransport } from '../transport/test-mode.js';

export type {
  CassetteFile,
  RecordedInteraction,
  RecordedRequest,
  RecordedResponse,
} from './cassette-file.js';

/** `record` always goes to the network, `replay` never does, `auto` replays when the file exists. */
export type CassetteMode = 'record' | 'replay' | 'auto';

/** Options of {@link cassette}. */
export interface CassetteOptions {
  /**
   * Folder of the cassette files, relative to the working directory.
   * @default 'test/cassettes'
   */
  dir?: string;
  /** @default 'auto' */
  mode?: CassetteMode;
  /**
   * The real transport to record through.
   * @default a fresh undici transport (refusing with `TEST_MODE_BLOCKED` under `BULWARK_TEST_MODE=1` (or `true`, `yes`)
   * or a client's `testMode: true`, as an undici transport given here does)
   */
  transport?: Transport;
  /**
   * Redaction applied to URLs, headers and bodies before they are written, and to requests
   * before they are matched. Options extend the logging defaults, as `logging.redact` does.
   * @default the logging defaults, without the 64 KiB scan cut (recorded bodies stay whole)
   */
  redactor?: Redactor | RedactorOptions;
  /**
   * Once the recorded answers to a request are used up, replay the last one again instead of
   * failing (for polling loops).
   * @default false
   */
  repeat?: boolean;
}

/** A transport that records or replays; pass it as `createClient({ transport })`. */
export interface Cassette extends Transport {
  readonly name: string;
  /** Absolute path of the file. */
  readonly file: string;
  /** What this cassette does (`auto` resolved when it was created). */
  readonly mode: 'record' | 'replay';
  /** The exchanges recorded so far, or loaded for replay. */
  readonly interactions: readonly RecordedInteraction[];
  /** Writes what was recorded (also done by `close()` and `destroy()`); a no-op in replay. */
  save(): Promise<void>;
}

/** The logging lists, with the largest scan limit: a cut body would replay as a different one. */
const CASSETTE_SCAN_LIMIT = 16_777_216;
let cassetteRedactor: Redactor | undefined;

/**
 * Creates a record/replay transport backed by `<dir>/<name>.json`.
 * @example
 * const tape = cassette('github-repos');
 * const github = createClient({ baseUrl: 'https://api.github.com', transport: tape });
 * await github.get('/repos/:owner/:repo', { params: { owner: 'nodejs', repo: 'undici' } });
 * await github.close(); // writes test/cassettes/github-repos.json when recording
 */
export function cassette(name: string, options: CassetteOptions = {}): Cassette {
  if (typeof name !== 'string' || !/^[\w.-]+(\/[\w.-]+)*$/.test(name) || name.split('/').includes('..')) {
    throw invalidOption(
      'cassette(name)',
      name,
      'letters, digits, `.`, `_`, `-` and `/` between folder names',
    );
  }
  checkKeys('options', 'cassette', requireRecord('options', 'cassette', options), [
    'dir',
    'mode',
    'transport',
    'redactor',
    'repeat',
  ]);
  checkBoolean('options', 'cassette.repeat', options.repeat);
  const dir = options.dir ?? 'test/cassettes';
  if (typeof dir !== 'string' || dir === '') throw invalidOption('cassette.dir', dir, 'a folder path');
  const mode: unknown = options.mode ?? 'auto';
  if (mode !== 'record' && mode !== 'replay' && mode !== 'auto') {
    throw invalidOption('cassette.mode', mode, "'record', 'replay' or 'auto'");
  }
  if (
    options.transport !== undefined &&
    typeof (options.transport as Partial<Transport>).send !== 'function'
  ) {
    throw invalidOption(
      'cassette.transport',
      options.transport,
      'a Transport ({ send, stats, close, destroy })',
    );
  }
  const file = resolve(join(dir, `${name}.json`));
  const redactor = redactorOf(options.redactor);
  const replaying = mode === 'replay' || (mode === 'auto' && existsSync(file));
  if (replaying) return new Player(name, file, load(name, file), redactor, options.repeat === true);
  // Only a real network transport is blocked in test mode: recording from a mock stays possible.
  const inner = options.transport ?? new UndiciTransport({ maxResponseBytes: 52_428_800 });
  const recorder = new Recorder(name, file, inner, redactor, inner instanceof UndiciTransport);
  if (testModeFromEnv()) recorder.blockNetwork();
  return recorder;
}

/** The request body's bytes; a stream that fails while read ends the attempt with `NETWORK`, nothing sent. */
async function bodyOf(attempt: Attempt): Promise<Buffer | undefined> {
  try {
    return await bytesOf(attempt.body);
  } catch (error) {
    attempt.finish();
    throw bulwarkError('NETWORK', `${attempt.method} request body could not be read: ${String(error)}`, {
      cause: asError(error),
      method: attempt.method,
      sent: false,
    });
  }
}

/** Writes a recording cassette's file now (the client's `close()` does it too). */
export function saveCassette(tape: Cassette): Promise<void> {
  return tape.save();
}

function redactorOf(value: Redactor | RedactorOptions | undefined): Redactor {
  if (value instanceof Redactor) return value;
  if (value === undefined) return (cassetteRedactor ??= new Redactor({ maxBodyLength: CASSETTE_SCAN_LIMIT }));
  if (typeof value !== 'object' || (value as unknown) === null)
    throw invalidOption('cassette.redactor', value, 'a Redactor or redaction options');
  // The options of `logging.redact`, checked the same way.
  checkKeys('options', 'cassette.redactor', value as Record<string, unknown>, REDACTOR_OPTION_KEYS);
  return new Redactor({ maxBodyLength: CASSETTE_SCAN_LIMIT, ...value });
}

/** Records through the real transport; the caller gets the real answer, the file a redacted copy. */
class Recorder implements Cassette {
  readonly mode = 'record';
  readonly name: string;
  readonly file: string;
  readonly interactions: RecordedInteraction[] = [];
  #inner: Transport;
  readonly #network: boolean;
  #blocked = false;
  readonly #redactor: Redactor;
  readonly #pending = new Set<Promise<unknown>>();
  #saved: Promise<void> | undefined = undefined;

  /** @param network whether `inner` is a real network transport (blocked in test mode) */
  constructor(name: string, file: string, inner: Transport, redactor: Redactor, network: boolean) {
    this.name = name;
    this.file = file;
    this.#inner = inner;
    this.#network = network;
    this.#redactor = redactor;
  }

  /** Test mode: recording through the real network now fails with `TEST_MODE_BLOCKED`. */
  blockNetwork(): void {
    if (this.#blocked) return;
    this.#blocked = true;
    if (this.#network) this.#inner = testModeTransport(this.#inner);
    else this.#inner.blockNetwork?.();
  }

  send(attempt: Attempt): Promise<BulwarkResponse> {
    const exchange = this.#record(attempt);
    const settled = exchange.then(
      () => undefined,
      () => undefined,
    );
    this.#pending.add(settled);
    void settled.then(() => this.#pending.delete(settled));
    return exchange;
  }

  async #record(attempt: Attempt): Promise<BulwarkResponse> {
    const sentBody = await bodyOf(attempt);
    // A stream can be read once: what was read for the file is what goes out.
    if (sentBody !== undefined && typeof attempt.body !== 'string' && !(attempt.body instanceof Uint8Array)) {
      attempt.body = sentBody;
    }
    const request = describeRequest(attempt, sentBody, this.#redactor);
    let response: BulwarkResponse;
    try {
      response = await this.#inner.send(attempt);
    } catch (error) {
      // Only what the upstream did (a `recorded` code: a network failure) belongs in the file;
      // bulwark's own refusals and timeouts happen again on replay by themselves.
      if (isBulwarkError(error) && ERROR_TRAITS[error.code].recorded) {
        const code = (error.cause as { code?: unknown } | undefined)?.code;
        this.interactions.push({
          request,
          error: {
            code: typeof code === 'string' ? code : error.code,
            message: this.#redactor.text(error.message),
            sent: error.sent !== false,
          },
        });
      }
      throw error;
    }
    const bytes = Buffer.from(await response.arrayBuffer());
    const headers = { ...response.headers };
    this.interactions.push({
      request,
      response: {
        status: response.status,
        ...(response.statusText === '' ? {} : { statusText: response.statusText }),
        headers: recordHeaders(headers, this.#redactor, undefined),
        ...encodeBody(bytes, contentType(headers), this.#redactor),
      },
    });
    const copy = responseOf(response.status, response.statusText, response.url, headers, bytes);
    copy.redirects = response.redirects;
    return copy;
  }

  save(): Promise<void> {
    const data: CassetteFile = {
      version: 1,
      name: this.name,
      recordedAt: new Date().toISOString(),
      interactions: this.interactions,
    };
    const write = async (): Promise<void> => {
      await mkdir(dirname(this.file), { recursive: true });
      const temp = `${this.file}.${String(process.pid)}.tmp`;
      await writeFile(temp, `${JSON.stringify(data, null, 2)}\n`);
      await rename(temp, this.file);
    };
    // Saves run one after another, so the last one written holds every interaction.
    this.#saved = (this.#saved ?? Promise.resolve()).then(write, write);
    return this.#saved;
  }

  stats(): Record<string, PoolStats> {
    return this.#inner.stats();
  }

  async close(): Promise<void> {
    await Promise.all(this.#pending);
    await this.save();
    await this.#inner.close();
  }

  async destroy(): Promise<void> {
    await this.#inner.destroy();
    await Promise.all(this.#pending);
    await this.save();
  }
}

/** Replays a file offline: matches method, URL and body, in recorded order. */
class Player implements Cassette {
  readonly mode = 'replay';
  readonly name: string;
  readonly file: string;
  readonly interactions: readonly RecordedInteraction[];
  readonly #used: boolean[];
  readonly #redactor: Redactor;
  readonly #repeat: boolean;

  constructor(
    name: string,
    file: string,
    interactions: readonly RecordedInteraction[],
    redactor: Redactor,
    repeat: boolean,
  ) {
    this.name = name;
    this.file = file;
    this.interactions = interactions;
    this.#used = interactions.map(() => false);
    this.#redactor = redactor;
    this.#repeat = repeat;
  }

  async send(attempt: Attempt): Promise<BulwarkResponse> {
    if (attempt.aborted !== undefined) {
      attempt.finish();
      throw attempt.aborted;
    }
    const asked = describeRequest(attempt, await bodyOf(attempt), this.#redactor);
    let index = -1;
    let last = -1;
    for (let i = 0; i < this.interactions.length; i++) {
      const recorded = this.interactions[i]?.request;
      if (recorded === undefined || !sameRequest(asked, recorded)) continue;
      last = i;
      if (!this.#used[i]) {
        index = i;
        break;
      }
    }
    if (index === -1 && this.#repeat) index = last;
    const interaction = this.interactions[index];
    if (interaction === undefined) {
      attempt.finish();
      throw this.#miss(asked, last !== -1);
    }
    this.#used[index] = true;
    attempt.sent = true;
    const url = attempt.origin + attempt.path;
    const recorded = interaction.response;
    if (recorded === undefined) {
      attempt.finish();
      const failure = interaction.error ?? { code: 'NETWORK', message: 'recorded failure', sent: true };
      const cause = Object.assign(new Error(failure.message), { code: failure.code });
      throw networkError(cause, attempt.method, this.#redactor.url(url), failure.sent);
    }
    const bytes = Buffer.from(recorded.body, recorded.bodyEncoding === 'base64' ? 'base64' : 'utf8');
    const response = responseOf(
      recorded.status,
      recorded.statusText ?? '',
      url,
      { ...recorded.headers },
      bytes,
    );
    response.source.whenSettled(attempt);
    return response;
  }

  // TEST_MODE_BLOCKED, not NETWORK: a replaying cassette never reaches the network, so a miss
  // is no transient failure. It is not retried (the same miss again) and trips no breaker.
  #miss(asked: RecordedRequest, usedUp: boolean): BulwarkError {
    const body = asked.body === undefined ? '' : ` with a ${String(asked.body.length)}-character body`;
    const why = usedUp
      ? 'its recorded answers are used up (pass `repeat: true` to replay the last one)'
      : 'it was never recorded';
    return new BulwarkError(
      'TEST_MODE_BLOCKED',
      `Cassette "${this.name}" (${this.file}) cannot answer ${asked.method} ${asked.url}${body}: ${why}. Re-record it with mode 'record'.`,
      { method: asked.method, url: asked.url, sent: false },
    );
  }

  save(): Promise<void> {
    return Promise.resolve();
  }
  stats(): Record<string, PoolStats> {
    return {};
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
  destroy(): Promise<void> {
    return Promise.resolve();
  }
}
