import { Listeners } from '@syncap/core';
import type { MessageConnection } from './message-connection.js';

/**
 * Two connected in-process MessageConnections. Delivery is synchronous unless a
 * `deliver` scheduler is given (the simulated network passes one that adds latency
 * and loss on virtual time).
 */
export function memoryConnectionPair(
  names: [string, string] = ['a', 'b'],
  deliver: (fn: () => void, from: 0 | 1) => void = (fn) => fn(),
): [MessageConnection, MessageConnection] {
  const messages = [new Listeners<string>(), new Listeners<string>()];
  const closes = [new Listeners<{ code: number; reason: string }>(), new Listeners<{ code: number; reason: string }>()];
  let open = true;
  const make = (side: 0 | 1): MessageConnection => {
    const other = (1 - side) as 0 | 1;
    return {
      remote: names[other],
      bufferedBytes: 0,
      get open() {
        return open;
      },
      send(text) {
        if (!open) return;
        deliver(() => {
          if (open) messages[other]!.emit(text);
        }, side);
      },
      close(code, reason) {
        if (!open) return;
        open = false;
        deliver(() => {
          closes[0]!.emit({ code, reason });
          closes[1]!.emit({ code, reason });
        }, side);
      },
      abort(reason) {
        this.close(1006, reason);
      },
      onMessage: (l) => messages[side]!.add(l),
      onClose: (l) => closes[side]!.add(({ code, reason }) => l(code, reason)),
    };
  };
  return [make(0), make(1)];
}
