// Redirects: followed hop by hop around the transport, with secrets dropped across origins and no downgrade.
import { isBulwarkError, sentOrThrown } from '../errors.js';
import type { BulwarkResponse } from '../http/response.js';
import { checkDestinationUrl, type DestinationGuardOptions } from './destination-guard.js';
import { isCrossOriginSecret, nextRedirect, REDIRECT_STATUSES, type RedirectDecision } from './redirects.js';
import type { Attempt, Transport } from './attempt.js';

/** Redirect and destination settings of a client. */
export interface RedirectSettings {
  /** Redirects followed per attempt; 0 hands every 3xx back. @default 5 */
  readonly maxRedirects: number;
  /** Allow https → http. @default false */
  readonly allowDowngrade: boolean;
  /** `allowedHosts` / `blockPrivateIps`, checked on the first URL and on every hop. */
  readonly guard: DestinationGuardOptions | undefined;
  /** Headers that never follow a redirect to another origin (the redactor's secret list). */
  readonly isSecretHeader?: (name: string) => boolean;
}

/**
 * Wraps a transport with redirects and the URL-level destination check. Each hop is sent
 * again through the inner transport (so the socket-level guard runs again too), within what is
 * left of the attempt timeout; the 3xx body is drained; credentials never follow a redirect to
 * another origin; https → http and non-http(s) schemes are refused with `REDIRECT`.
 */
export function withRedirects(inner: Transport, settings: RedirectSettings): Transport {
  const guard = settings.guard;
  const innerSend = (attempt: Attempt): Promise<BulwarkResponse> => inner.send(attempt);
  const sendChecked = (attempt: Attempt): Promise<BulwarkResponse> => {
    // A transport that throws instead of rejecting fails its attempt the same way.
    const sent = sentOrThrown(innerSend, attempt);
    if (settings.maxRedirects === 0) return sent;
    // One `then`, not an async frame: an answer that is not a redirect goes back as it came (its
    // `redirects` is 0 already); only an actual 3xx enters the loop of `follow`.
    return sent.then((response) =>
      REDIRECT_STATUSES.has(response.status) ? follow(inner, settings, attempt, response) : response,
    );
  };
  // The destination check throws before anything is sent; as a rejection, like any failed send.
  const send =
    guard === undefined
      ? sendChecked
      : async (attempt: Attempt): Promise<BulwarkResponse> => {
          check(attempt, guard);
          return sendChecked(attempt);
        };
  return {
    send,
    stats: () => inner.stats(),
    close: () => inner.close(),
    destroy: () => inner.destroy(),
  };
}

/** Follows the 3xx `response` to `attempt`, hop by hop, until an answer that is not followed. */
async function follow(
  inner: Transport,
  settings: RedirectSettings,
  attempt: Attempt,
  response: BulwarkResponse,
): Promise<BulwarkResponse> {
  let current = attempt;
  while (REDIRECT_STATUSES.has(response.status)) {
    const decision = decide(current, response, settings);
    if (!decision.follow) break;
    current = hop(current, response, decision, settings);
    response = await inner.send(current);
  }
  response.redirects = current.redirects;
  return response;
}

type FollowedRedirect = Extract<RedirectDecision, { follow: true }>;

/** Whether the 3xx `response` to `current` is followed; a refused redirect drains it and throws. */
function decide(current: Attempt, response: BulwarkResponse, settings: RedirectSettings): RedirectDecision {
  const location = response.headers.location;
  try {
    return nextRedirect({
      status: response.status,
      location: Array.isArray(location) ? location[0] : location,
      method: current.method,
      url: new URL(current.origin + current.path),
      headers: current.headers,
      bodyReplayable: current.ctx.bodyReplayable,
      hasBody: current.body !== null,
      redirectCount: current.redirects,
      maxRedirects: settings.maxRedirects,
      allowDowngrade: settings.allowDowngrade,
      ...(settings.isSecretHeader === undefined ? {} : { isSecretHeader: settings.isSecretHeader }),
    });
  } catch (error) {
    response.dump();
    throw decorate(error, current);
  }
}

/**
 * The next hop's attempt: the 3xx is drained and reported (its own span ends with it), and the
 * new destination is checked before anything is sent to it.
 */
function hop(
  current: Attempt,
  response: BulwarkResponse,
  decision: FollowedRedirect,
  settings: RedirectSettings,
): Attempt {
  response.dump();
  const dropped = decision.crossOrigin
    ? Object.keys(current.headers).filter((h) => isCrossOriginSecret(h.toLowerCase(), settings))
    : [];
  const events = current.ctx.runtime.events;
  events.redirect(
    current.ctx,
    current.origin + current.path,
    response.status,
    decision.url.href,
    current.redirects + 1,
    dropped,
  );
  const next = current.hop(decision.url, decision.method, { ...decision.headers }, decision.dropBody);
  // One CLIENT span per hop, as the HTTP semantic conventions ask: this hop ends with its 3xx.
  if (events.observeAttempts) events.attemptEnd(current, current.span, response, undefined);
  if (settings.guard !== undefined) {
    try {
      check(next, settings.guard);
    } catch (error) {
      next.finish();
      throw error;
    }
  }
  if (events.observeAttempts) next.span = events.attemptStart(next);
  return next;
}

function check(attempt: Attempt, guard: DestinationGuardOptions): void {
  try {
    checkDestinationUrl(new URL(attempt.origin), guard);
  } catch (error) {
    attempt.finish();
    throw decorate(error, attempt);
  }
}

function decorate(error: unknown, attempt: Attempt): unknown {
  if (!isBulwarkError(error)) return error;
  error.method ??= attempt.method;
  return error;
}
