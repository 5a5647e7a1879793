// The functions of src/ and their lengths in lines, read with the TypeScript compiler's parser: declarations, methods, accessors, constructors, arrows and function expressions.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { SRC, sourceFiles } from './import-graph.js';

/** One function with a body: where it starts (`file:line`), its name as a reader finds it, and its lines. */
export interface FunctionLength {
  readonly at: string;
  readonly name: string;
  readonly lines: number;
}

/** The name a reader looks for: its own, else the variable, property or argument it is given to. */
function nameOf(node: ts.FunctionLikeDeclaration, source: ts.SourceFile): string {
  if (node.name !== undefined) {
    const own = node.name.getText(source);
    const owner = ts.isClassLike(node.parent) ? node.parent.name?.getText(source) : undefined;
    return owner === undefined ? own : `${owner}.${own}`;
  }
  if (ts.isConstructorDeclaration(node)) return `${node.parent.name?.getText(source) ?? 'class'}.constructor`;
  const parent = node.parent;
  if (
    ts.isVariableDeclaration(parent) ||
    ts.isPropertyAssignment(parent) ||
    ts.isPropertyDeclaration(parent)
  ) {
    return parent.name.getText(source);
  }
  if (ts.isCallExpression(parent) || ts.isNewExpression(parent)) {
    return `(callback of ${parent.expression.getText(source).slice(0, 40)})`;
  }
  return '(anonymous)';
}

/** Every function with a body in `text`, outer ones before the ones they hold. */
export function functionLengths(file: string, text: string): FunctionLength[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const found: FunctionLength[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body !== undefined) {
      const fn = node;
      // From the first token (the leading JSDoc is not the function) to the closing brace, both counted.
      const first = source.getLineAndCharacterOfPosition(fn.getStart(source)).line;
      const last = source.getLineAndCharacterOfPosition(fn.end).line;
      found.push({ at: `${file}:${first + 1}`, name: nameOf(fn, source), lines: last - first + 1 });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** Every function of src/ longer than `max` lines, longest first. */
export function longFunctions(max: number, dir: string = SRC): FunctionLength[] {
  return sourceFiles(dir)
    .flatMap((file) => functionLengths(file, readFileSync(join(dir, file), 'utf8')))
    .filter((fn) => fn.lines > max)
    .sort((a, b) => b.lines - a.lines || a.at.localeCompare(b.at));
}
