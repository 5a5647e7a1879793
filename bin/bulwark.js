#!/usr/bin/env node
// The `bulwark` command: runs the lab CLI compiled to dist/lab/cli.js.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const cli = fileURLToPath(new URL('../dist/lab/cli.js', import.meta.url));
if (!existsSync(cli)) {
  process.stderr.write(
    'bulwark: the lab is not built yet (dist/lab/cli.js is missing).\n' +
      'Run `npm run build` first, or run it from source with `npm run demo` / `npm run lab -- <scenario>`.\n',
  );
  process.exit(1);
}
const { run } = await import(pathToFileURL(cli).href);
await run(process.argv.slice(2));
