/**
 * Suite-wide guard, loaded with `node --import tsx --import ./test/helpers/unhandled-preload.ts`:
 * any unhandled rejection or listener leak anywhere in the process prints its reason and makes
 * the process exit 1, in a test, a hook, or after the last test.
 */
import { failOnUnhandledRejections } from './unhandled.js';

failOnUnhandledRejections();
