import type { ServerResponse } from 'node:http';
import { memoryConnectionPair, PROTOCOL_VERSION, SyncServer } from '@syncap/net';
import { describe, expect, it } from 'vitest';
import { DashboardFeed, MAX_DASHBOARD_CLIENTS } from './dashboard-feed.js';

/** Just enough of a ServerResponse for the feed: it records what is written. */
function client() {
  const written: string[] = [];
  let status = 0;
  const res = {
    writableLength: 0,
    writeHead(code: number) {
      status = code;
      return res;
    },
    write(text: string) {
      written.push(text);
      return true;
    },
    end(text?: string) {
      if (text) written.push(text);
    },
    on() {
      return res;
    },
    destroy() {},
  };
  return { res: res as unknown as ServerResponse, written, status: () => status };
}

describe('DashboardFeed', () => {
  it('repeats client input cut short and lists a flood of rejections within a budget; caps its clients', () => {
    const server = new SyncServer({ token: 'k', clock: { nowNs: () => 10n ** 18n }, timers: { setTimeout: () => 0, clearTimeout: () => {} } });
    const feed = new DashboardFeed(server, 60_000);
    const key = 'k'.repeat(1_000_000);
    for (let i = 0; i < 50; i++) {
      const [mine, theirs] = memoryConnectionPair();
      server.accept(theirs);
      mine.send(`{"type":"hello","v":${PROTOCOL_VERSION},"nodeId":"x${i}","token":"nope","cameras":[{"id":"c","fps":30}],"${key}":1}`);
    }
    const c = client();
    feed.attach(c.res);
    // Before, the backlog of 50 events held 50 MB: every dashboard client was cut off at once.
    const first = c.written.join('');
    expect(first.length).toBeLessThan(10_000);
    const events = JSON.parse(first.slice(first.indexOf('data: ') + 6)) as Array<{ text: string }>;
    expect(events.length).toBe(10);
    expect(events.every((e) => e.text.length <= 300)).toBe(true);
    for (let i = 1; i < MAX_DASHBOARD_CLIENTS; i++) feed.attach(client().res);
    const refused = client();
    feed.attach(refused.res);
    expect(refused.status()).toBe(503);
    expect(feed.counters.refused).toBe(1);
    feed.close();
    server.close();
  });
});
