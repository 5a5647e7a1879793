/**
 * Makes a test file (or a child-process fixture) fail on asynchronous failures nobody awaited:
 * unhandled promise rejections, and `MaxListenersExceededWarning` (how a listener leak on an
 * AbortSignal or an emitter shows itself). From Node 22 an AbortSignal has no listener limit by
 * default, so a test that watches one signal for leaks sets it: `setMaxListeners(10, signal)`.
 *
 * node:test 20 already fails a test it can pin an unhandled rejection on. This guard adds what
 * it misses: listener leaks, rejections in plain scripts (fixtures run as child processes),
 * and rejections raised while `after` hooks tear servers down. It never throws from a hook (a
 * failing `after` hook makes node:test skip the hooks after it, leaving servers open and the
 * file hanging until its timeout); it prints each reason and sets `process.exitCode = 1`,
 * which fails the file in the runner's report.
 */

/** What the guard saw so far. */
export interface AsyncFailures {
  readonly rejections: readonly unknown[];
  readonly warnings: readonly Error[];
  /** Removes the listeners. */
  stop(): void;
}

function describeReason(reason: unknown): string {
  if (reason instanceof Error) return `${reason.name}: ${reason.message}\n${reason.stack ?? ''}`;
  return String(reason);
}

/**
 * Installs process-wide listeners and returns what they collect; `onFailure` runs at once for
 * each failure.
 */
export function watchAsyncFailures(onFailure?: (what: string) => void): AsyncFailures {
  const rejections: unknown[] = [];
  const warnings: Error[] = [];
  const onRejection = (reason: unknown): void => {
    rejections.push(reason);
    onFailure?.(`unhandled rejection: ${describeReason(reason)}`);
  };
  const onWarning = (warning: Error): void => {
    if (warning.name !== 'MaxListenersExceededWarning') return;
    warnings.push(warning);
    onFailure?.(`listener leak: ${warning.message}`);
  };
  process.on('unhandledRejection', onRejection);
  process.on('warning', onWarning);
  return {
    rejections,
    warnings,
    stop: () => {
      process.off('unhandledRejection', onRejection);
      process.off('warning', onWarning);
    },
  };
}

/** Fails the process (exit code 1) on any unhandled rejection or listener leak, printing why. */
export function failOnUnhandledRejections(): AsyncFailures {
  return watchAsyncFailures((what) => {
    process.exitCode = 1;
    process.stderr.write(`[unhandled] ${what}\n`);
  });
}
