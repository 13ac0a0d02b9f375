import { Listeners } from '@syncap/core';
import type { MessageConnection } from './message-connection.js';

/**
 * Two connected in-process MessageConnections. Delivery is synchronous unless a
 * `deliver` scheduler is given (the simulated network passes one that adds latency,
 * retransmissions and partitions on virtual time).
 *
 * Each side closes on its own, as a socket does: `close()`/`abort()` close the local
 * side at once (its close listeners run on the next microtask) and send the close to
 * the peer over the link, where it arrives like any message — late, or only after a
 * partition heals. Messages that reach a closed side are dropped.
 */
export function memoryConnectionPair(
  names: [string, string] = ['a', 'b'],
  deliver: (fn: () => void, from: 0 | 1) => void = (fn) => fn(),
): [MessageConnection, MessageConnection] {
  const messages = [new Listeners<string>(), new Listeners<string>()];
  const binaries = [new Listeners<Uint8Array>(), new Listeners<Uint8Array>()];
  const closes = [new Listeners<{ code: number; reason: string }>(), new Listeners<{ code: number; reason: string }>()];
  const open = [true, true];
  const closeSide = (side: 0 | 1, code: number, reason: string) => {
    if (!open[side]) return false;
    open[side] = false;
    queueMicrotask(() => closes[side]!.emit({ code, reason }));
    return true;
  };
  const make = (side: 0 | 1): MessageConnection => {
    const other = (1 - side) as 0 | 1;
    return {
      remote: names[other],
      bufferedBytes: 0,
      get open() {
        return open[side]!;
      },
      send(text) {
        if (!open[side]) return;
        deliver(() => {
          if (open[other]) messages[other]!.emit(text);
        }, side);
      },
      sendBinary(bytes) {
        if (!open[side]) return;
        // What crosses a wire is a copy: the sender may reuse its buffer, the receiver may keep its own.
        const copy = bytes.slice();
        deliver(() => {
          if (open[other]) binaries[other]!.emit(copy);
        }, side);
      },
      close(code, reason) {
        if (!closeSide(side, code, reason)) return;
        deliver(() => closeSide(other, code, reason), side);
      },
      abort(reason) {
        this.close(1006, reason);
      },
      onMessage: (l) => messages[side]!.add(l),
      onBinary: (l) => binaries[side]!.add(l),
      onClose: (l) => closes[side]!.add(({ code, reason }) => l(code, reason)),
    };
  };
  return [make(0), make(1)];
}
