/**
 * Adaptive concurrency limiting: the {@link ConcurrencyLimiter} and the control laws it can run.
 */

export { ConcurrencyLimiter } from './limiter.js';
export type { AcquireOptions, ConcurrencySnapshot, ConcurrencyToken } from './limiter.js';
export { createLimitAlgorithm } from './options.js';
export type { ConcurrencyLimiterOptions, LimitAlgorithmName, LimitChange } from './options.js';
export type { LimitAlgorithm, LimitBounds, LimitSample } from './limit.js';
export { DEFAULT_BOUNDS } from './limit.js';
export { Gradient2Limit } from './gradient2.js';
export type { Gradient2Options } from './gradient2.js';
export { AimdLimit } from './aimd.js';
export type { AimdOptions } from './aimd.js';
export { VegasLimit } from './vegas.js';
export type { VegasOptions } from './vegas.js';
export { FixedLimit } from './fixed.js';
export { SampleWindow, DEFAULT_WINDOW } from './window.js';
export type { WindowOptions } from './window.js';
