/**
 * Extracts the TypeScript blocks of README.md and docs/*.md and type-checks them, all in one
 * compiler program, against the package's public entry points (`bulwark`, `bulwark/testing`,
 * `bulwark/redis`, mapped from package.json's `exports` to their sources). A block that is not
 * meant to compile says so in its fence: ```ts nocompile.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

/** One fenced TypeScript block of a Markdown file. */
export interface CodeBlock {
  /** The Markdown file, relative to the repository root. */
  file: string;
  /** Line of the first code line (1-based). */
  line: number;
  code: string;
}

/** A compiler diagnostic mapped back to the Markdown line it comes from. */
export interface BlockDiagnostic {
  file: string;
  line: number;
  message: string;
}

const FENCE = /^(\s*)(`{3,}|~{3,})\s*([^\s`]*)(.*)$/;
const TS_LANGS = new Set(['ts', 'typescript', 'tsx', 'mts']);

/** The TypeScript blocks of one Markdown text, except those fenced with `nocompile`. */
export function extractBlocks(file: string, markdown: string): CodeBlock[] {
  const lines = markdown.split('\n');
  const blocks: CodeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i] ?? '');
    if (open === null) continue;
    const fence = open[2] ?? '```';
    const lang = (open[3] ?? '').toLowerCase();
    const flags = (open[4] ?? '').split(/\s+/);
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const close = lines[j] ?? '';
      if (close.trim().startsWith(fence) && close.trim().slice(fence.length).trim() === '') break;
      body.push(close);
    }
    if (TS_LANGS.has(lang) && !flags.includes('nocompile'))
      blocks.push({ file, line: i + 2, code: body.join('\n') });
    i = j;
  }
  return blocks;
}

/** README.md and every docs/*.md of the repository at `root`. */
export function markdownFiles(root: string): string[] {
  const docs = readdirSync(join(root, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .sort()
    .map((name) => join('docs', name));
  return ['README.md', ...docs];
}

/** `bulwark`, `bulwark/testing`... mapped to the source of what package.json exports. */
function publicPaths(root: string): Record<string, string[]> {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    name: string;
    exports: Record<string, { types?: string } | string>;
  };
  const paths: Record<string, string[]> = {};
  for (const [subpath, target] of Object.entries(pkg.exports)) {
    if (typeof target === 'string' || target.types === undefined) continue;
    const source = target.types.replace(/^\.\/dist\//, './').replace(/\.d\.ts$/, '.ts');
    paths[subpath === '.' ? pkg.name : `${pkg.name}${subpath.slice(1)}`] = [join(root, source)];
  }
  return paths;
}

/**
 * Type-checks `blocks` together (each block is its own module) with `preamble`, a declaration
 * file of placeholder names the blocks may use. Returns what the compiler reports in the blocks.
 */
export function checkBlocks(root: string, blocks: readonly CodeBlock[], preamble: string): BlockDiagnostic[] {
  const configPath = join(root, 'tsconfig.json');
  const config = ts.getParsedCommandLineOfConfigFile(
    configPath,
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      },
    },
  );
  if (config === undefined) throw new Error(`cannot read ${configPath}`);
  const options: ts.CompilerOptions = { ...config.options, noEmit: true, paths: publicPaths(root) };
  const dir = join(root, 'test', 'docs', '.blocks');
  const virtual = new Map<string, { text: string; block?: CodeBlock }>();
  virtual.set(join(dir, 'preamble.d.ts'), { text: preamble });
  blocks.forEach((block, n) => {
    const name = `${block.file.replace(/[^A-Za-z0-9]+/g, '-')}-${block.line}-${n}.ts`;
    // `export {}` makes each block a module, so two blocks may declare the same names.
    virtual.set(join(dir, name), { text: `${block.code}\nexport {};\n`, block });
  });
  const host = ts.createCompilerHost(options, true);
  const disk = ts.createCompilerHost(options, true);
  host.fileExists = (f) => virtual.has(f) || disk.fileExists(f);
  host.readFile = (f) => virtual.get(f)?.text ?? disk.readFile(f);
  host.getSourceFile = (f, lang, onError, create) => {
    const v = virtual.get(f);
    return v === undefined
      ? disk.getSourceFile(f, lang, onError, create)
      : ts.createSourceFile(f, v.text, lang, true);
  };
  const program = ts.createProgram([...virtual.keys()], options, host);
  const out: BlockDiagnostic[] = [];
  for (const [name, v] of virtual) {
    const sf = program.getSourceFile(name);
    if (sf === undefined) continue;
    const diagnostics = [...program.getSyntacticDiagnostics(sf), ...program.getSemanticDiagnostics(sf)];
    for (const d of diagnostics) {
      const at = d.start === undefined ? 0 : sf.getLineAndCharacterOfPosition(d.start).line;
      out.push({
        file: v.block?.file ?? relative(root, name),
        line: (v.block?.line ?? 1) + at,
        message: ts.flattenDiagnosticMessageText(d.messageText, '\n'),
      });
    }
  }
  return out;
}
