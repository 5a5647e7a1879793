// The import graph of src/: each file's relative imports (type-only ones and re-exports too), read with the TypeScript compiler's pre-processor.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

/** A file of src/ (path relative to src/, with `/`) and the files of src/ it imports. */
export type ImportGraph = ReadonlyMap<string, readonly string[]>;

export const SRC = resolve(import.meta.dirname, '..', '..', 'src');

/** Every `.ts` file under `dir`, relative to it, sorted. */
export function sourceFiles(dir: string = SRC): string[] {
  const out: string[] = [];
  const walk = (at: string): void => {
    for (const name of readdirSync(at)) {
      const full = join(at, name);
      if (statSync(full).isDirectory()) walk(full);
      else if (name.endsWith('.ts')) out.push(relative(dir, full).split('\\').join('/'));
    }
  };
  walk(dir);
  return out.sort();
}

/** The graph of relative imports between the files of `dir`. */
export function importGraph(dir: string = SRC): ImportGraph {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(dir)) {
    const text = readFileSync(join(dir, file), 'utf8');
    const imported = ts.preProcessFile(text, true, true).importedFiles.map((ref) => ref.fileName);
    const targets = imported
      .filter((spec) => spec.startsWith('.'))
      .map((spec) => relative(dir, resolve(dirname(join(dir, file)), spec.replace(/\.js$/, '.ts'))))
      .map((path) => path.split('\\').join('/'));
    graph.set(file, [...new Set(targets)]);
  }
  return graph;
}

/** The floor a file stands on: its folder under src/, or the file's own name for a file at the top. */
export function floorOf(file: string): string {
  const slash = file.indexOf('/');
  return slash === -1 ? file.replace(/\.ts$/, '') : file.slice(0, slash);
}

/** The graph of floors: an edge for each import that crosses from one floor to another. */
export function floorGraph(graph: ImportGraph): ImportGraph {
  const floors = new Map<string, Set<string>>();
  for (const [file, targets] of graph) {
    const from = floorOf(file);
    const edges = floors.get(from) ?? new Set<string>();
    floors.set(from, edges);
    for (const target of targets) if (floorOf(target) !== from) edges.add(floorOf(target));
  }
  return new Map([...floors].map(([floor, edges]) => [floor, [...edges].sort()]));
}

/**
 * Every import circle of `graph`, each as the path that closes it (`a → b → a`), found by a
 * depth-first walk: a back edge to a node still on the walk's stack closes a circle.
 */
export function circles(graph: ImportGraph): string[] {
  const found: string[] = [];
  const done = new Set<string>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const visit = (node: string): void => {
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (onStack.has(next)) found.push([...stack.slice(stack.indexOf(next)), next].join(' → '));
      else if (!done.has(next)) visit(next);
    }
    stack.pop();
    onStack.delete(node);
    done.add(node);
  };
  for (const node of [...graph.keys()].sort()) if (!done.has(node)) visit(node);
  return found;
}
