/**
 * Headless Chromium for the lab's report tests: renders a file, returns the DOM it built and a
 * screenshot decoded to RGBA pixels.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { inflateSync } from 'node:zlib';

const run = promisify(execFile);
const CHROMIUM = process.env['BULWARK_CHROMIUM'] ?? '/usr/bin/chromium';

/** Why the browser tests cannot run, or undefined when they can. Fails unless skipping was asked for. */
export function chromiumMissing(): string | undefined {
  if (existsSync(CHROMIUM)) return undefined;
  const message = `${CHROMIUM} not found: \`npm test\` installs it when run as root (apt-get install -y chromium); point BULWARK_CHROMIUM at a Chromium binary or set BULWARK_SKIP_BROWSER=1 to skip`;
  if (process.env['BULWARK_SKIP_BROWSER'] === '1') return message;
  throw new Error(message);
}

async function chromium(args: readonly string[]): Promise<string> {
  const profile = await mkdtemp(join(tmpdir(), 'lab-chromium-'));
  try {
    const { stdout } = await run(
      CHROMIUM,
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        `--user-data-dir=${profile}`,
        ...args,
      ],
      { timeout: 60_000, maxBuffer: 64 * 1024 * 1024 },
    );
    return stdout;
  } finally {
    await rm(profile, { recursive: true, force: true });
  }
}

/** The DOM Chromium built from `file`, serialized. */
export function dumpDom(file: string): Promise<string> {
  return chromium(['--dump-dom', pathToFileURL(file).href]);
}

/** A screenshot of `file` at `width`×`height`, as RGBA pixels. */
export async function screenshot(file: string, width: number, height: number): Promise<Png> {
  const dir = await mkdtemp(join(tmpdir(), 'lab-shot-'));
  const out = join(dir, 'shot.png');
  try {
    await chromium([
      '--hide-scrollbars',
      `--window-size=${width},${height}`,
      `--screenshot=${out}`,
      pathToFileURL(file).href,
    ]);
    return decodePng(await readFile(out));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A decoded image: `rgba` holds 4 bytes per pixel, row by row. */
export interface Png {
  readonly width: number;
  readonly height: number;
  readonly rgba: Uint8Array;
}

/** Decodes an 8-bit RGB or RGBA, non-interlaced PNG (what Chromium writes). */
export function decodePng(buf: Buffer): Png {
  let offset = 8;
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat: Buffer[] = [];
  while (offset < buf.length) {
    const length = buf.readUInt32BE(offset);
    const type = buf.toString('latin1', offset + 4, offset + 8);
    const data = buf.subarray(offset + 8, offset + 8 + length);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      if (data[8] !== 8 || data[12] !== 0) throw new Error('only 8-bit non-interlaced PNGs are decoded here');
      channels = data[9] === 6 ? 4 : data[9] === 2 ? 3 : 0;
      if (channels === 0) throw new Error(`PNG colour type ${data[9]} not supported here`);
    } else if (type === 'IDAT') {
      idat.push(data);
    }
    offset += 12 + length;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const out = new Uint8Array(width * height * 4);
  const prev = new Uint8Array(stride);
  const cur = new Uint8Array(stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let i = 0; i < stride; i++) {
      const a = i >= channels ? cur[i - channels]! : 0;
      const b = prev[i]!;
      const c = i >= channels ? prev[i - channels]! : 0;
      const p = a + b - c;
      const pa = Math.abs(p - a);
      const pb = Math.abs(p - b);
      const pc = Math.abs(p - c);
      const predictor = [0, a, b, (a + b) >> 1, pa <= pb && pa <= pc ? a : pb <= pc ? b : c][filter]!;
      cur[i] = (line[i]! + predictor) & 0xff;
    }
    for (let x = 0; x < width; x++) {
      for (let k = 0; k < 4; k++) out[(y * width + x) * 4 + k] = k < channels ? cur[x * channels + k]! : 255;
    }
    prev.set(cur);
  }
  return { width, height, rgba: out };
}

/** How many pixels are within `tolerance` of the colour `#rrggbb`. */
export function countColor(png: Png, hex: string, tolerance = 24): number {
  const r = parseInt(hex.slice(1, 3), 16);
  const g = parseInt(hex.slice(3, 5), 16);
  const b = parseInt(hex.slice(5, 7), 16);
  let n = 0;
  for (let i = 0; i < png.rgba.length; i += 4) {
    if (
      Math.abs(png.rgba[i]! - r) <= tolerance &&
      Math.abs(png.rgba[i + 1]! - g) <= tolerance &&
      Math.abs(png.rgba[i + 2]! - b) <= tolerance
    )
      n++;
  }
  return n;
}

/** The series drawn in a rendered DOM: chart id → series name → the path's `d`. */
export function seriesIn(dom: string): Map<string, Map<string, string>> {
  const charts = new Map<string, Map<string, string>>();
  for (const svg of dom.matchAll(/<svg class="chart" id="([^"]+)"[^>]*>([^]*?)<\/svg>/g)) {
    const series = new Map<string, string>();
    for (const g of svg[2]!.matchAll(/<g class="series" data-series="([^"]+)"><path d="([^"]*)"/g))
      series.set(g[1]!, g[2]!);
    charts.set(svg[1]!, series);
  }
  return charts;
}
