/**
 * Every public option shows hover text: each property reachable from `ClientOptions` and
 * `RequestOptions` has a JSDoc comment and a `@default` (what applies when it is left out).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = fileURLToPath(new URL('../..', import.meta.url));
/** Values passed in, not option objects to document field by field. */
const OPAQUE = new Set([
  'Transport',
  'Clock',
  'Logger',
  'RateLimitStore',
  'CircuitStore',
  'Middleware',
  'URL',
  'URLSearchParams',
  'AbortSignal',
  'TracerProvider',
  'MeterProvider',
  'Date',
  'LimitAlgorithm',
]);

function optionDocs(): { checked: string[]; missing: string[] } {
  const config = ts.getParsedCommandLineOfConfigFile(
    `${root}tsconfig.json`,
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: () => undefined,
    },
  );
  assert.ok(config);
  const entry = `${root}src/index.ts`;
  const program = ts.createProgram([entry], { ...config.options, noEmit: true });
  const checker = program.getTypeChecker();
  const index = program.getSourceFile(entry);
  assert.ok(index);
  const exports = checker.getExportsOfModule(checker.getSymbolAtLocation(index)!);
  const missing: string[] = [];
  const checked: string[] = [];
  const seen = new Set<ts.Type>();
  const walk = (type: ts.Type, path: string): void => {
    for (const part of type.isUnion() ? type.types : [type]) {
      if (seen.has(part) || !(part.flags & (ts.TypeFlags.Object | ts.TypeFlags.Intersection))) continue;
      if (part.getCallSignatures().length > 0 || checker.isArrayLikeType(part)) continue;
      const name = part.aliasSymbol?.name ?? part.getSymbol()?.name ?? '';
      if (OPAQUE.has(name)) continue;
      const pieces = part.isIntersection() ? part.types : [part];
      const inSrc = pieces.some((t) =>
        (t.aliasSymbol ?? t.getSymbol())?.declarations?.some((d) =>
          d.getSourceFile().fileName.startsWith(`${root}src/`),
        ),
      );
      if (!inSrc) continue;
      const props = part.getProperties();
      // An object of methods only (a provider, a Headers-like) is a value passed in, not options.
      if (props.length > 0 && props.every((p) => (p.flags & ts.SymbolFlags.Method) !== 0)) continue;
      seen.add(part);
      for (const prop of props) {
        const where = path === '' ? prop.name : `${path}.${prop.name}`;
        checked.push(where);
        const docs = ts.displayPartsToString(prop.getDocumentationComment(checker)).trim();
        // A required option has no default to state.
        const required = (prop.flags & ts.SymbolFlags.Optional) === 0;
        const hasDefault = required || prop.getJsDocTags(checker).some((t) => t.name === 'default');
        if (docs === '' || !hasDefault)
          missing.push(`${where}${docs === '' ? ' (no doc)' : ''}${hasDefault ? '' : ' (no @default)'}`);
        const decl = prop.valueDeclaration ?? prop.declarations?.[0];
        if (decl !== undefined) walk(checker.getTypeOfSymbolAtLocation(prop, decl), where);
      }
    }
  };
  for (const name of ['ClientOptions', 'RequestOptions']) {
    const symbol = exports.find((s) => s.name === name);
    assert.ok(symbol, name);
    const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
    seen.clear();
    walk(checker.getDeclaredTypeOfSymbol(target), name === 'ClientOptions' ? '' : 'request');
  }
  return { checked, missing };
}

test('every public option has a doc comment with @default', () => {
  const { checked, missing } = optionDocs();
  // The walk reaches the nested policy options and the per-request overrides.
  for (const path of [
    'retry.budget.ratio',
    'circuitBreaker.failureRatio',
    'rateLimit.maxWait',
    'request.retry.maxRetries',
    'request.rateLimit.cost',
    'pool.tls.ca',
  ]) {
    assert.ok(checked.includes(path), `${path} was not reached (${checked.length} checked)`);
  }
  assert.deepEqual(missing, []);
});
