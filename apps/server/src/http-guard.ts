import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { clip, tokensMatch } from '@syncap/net';

/** The cookie the dashboard page sets so that its own requests (/events) carry the read token. */
export const READ_TOKEN_COOKIE = 'syncap_read';

/** Whether an address to bind reaches this machine only. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h.endsWith('.localhost') || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}

/**
 * What guards the HTTP side (dashboard, /events, /api/status, /metrics): the Host header
 * must name this server (a DNS-rebinding page names its own domain), and, with a read
 * token, the request must carry it.
 */
export class HttpGuard {
  private readonly allowedHosts: Set<string>;

  constructor(
    private readonly options: {
      /** Names (besides IP literals, localhost and this host's name) the Host header may carry. */
      readonly allowHosts?: readonly string[];
      /** The address the server binds. */
      readonly bindHost: string;
      /** Required for everything but the static assets and /healthz, when set. */
      readonly readToken?: string;
    },
  ) {
    const name = hostname().toLowerCase();
    this.allowedHosts = new Set(
      ['localhost', name, name.split('.')[0]!, options.bindHost.toLowerCase(), ...(options.allowHosts ?? []).map((h) => h.toLowerCase())].filter(Boolean),
    );
  }

  /** Why the Host header is refused, or undefined when it names this server. */
  hostProblem(req: IncomingMessage): string | undefined {
    const header = req.headers.host;
    if (!header) return 'a Host header is required';
    const host = hostOf(header);
    if (isIP(host) !== 0 || host.endsWith('.localhost') || this.allowedHosts.has(host)) return undefined;
    return `Host "${clip(host, 80)}" is not this server's name (DNS rebinding?): start syncap-server with --allow-host ${clip(host, 80)} to allow it`;
  }

  /** Whether the request carries the read token (Authorization: Bearer, ?token=, or the dashboard's cookie); true without one. */
  authorized(req: IncomingMessage, url: URL): boolean {
    const expected = this.options.readToken;
    if (expected === undefined) return true;
    const presented = presentedToken(req, url);
    return presented !== undefined && tokensMatch(presented, expected);
  }
}

/** The host part of a Host header: `name`, `name:port`, `[v6]:port`. */
function hostOf(header: string): string {
  const h = header.trim().toLowerCase();
  if (h.startsWith('[')) return h.slice(1, h.indexOf(']') > 0 ? h.indexOf(']') : undefined);
  const colon = h.lastIndexOf(':');
  return colon > 0 && h.indexOf(':') === colon ? h.slice(0, colon) : h;
}

function presentedToken(req: IncomingMessage, url: URL): string | undefined {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ')) return auth.slice('Bearer '.length).trim();
  const query = url.searchParams.get('token');
  if (query) return query;
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k !== READ_TOKEN_COOKIE) continue;
    try {
      return decodeURIComponent(v.join('='));
    } catch {
      return undefined;
    }
  }
  return undefined;
}
