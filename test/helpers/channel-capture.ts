import { subscribe, unsubscribe } from 'node:diagnostics_channel';

/** Collects what is published on a diagnostics channel between `start()` and `stop()`. */
export interface ChannelCapture<T> {
  readonly messages: T[];
  start(): void;
  /** Unsubscribes and forgets the messages (safe to call twice). */
  stop(): void;
}

export function captureChannel<T>(name: string): ChannelCapture<T> {
  const messages: T[] = [];
  const listener = (message: unknown): void => {
    messages.push(message as T);
  };
  return {
    messages,
    start: () => {
      subscribe(name, listener);
    },
    stop: () => {
      unsubscribe(name, listener);
      messages.length = 0;
    },
  };
}
