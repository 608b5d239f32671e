/**
 * `permissions.net: { allow: [...] }`: the worker keeps no network of its own, and `fetch`
 * in a cell is this host capability, which fetches only from the hosts on the list.
 *
 * An entry is `host` or `host:port`, matched exactly against the URL's host name (no
 * wildcards, no suffix matching; case-insensitive, as DNS is) and port; an entry without
 * a port allows the scheme's default port only (80 for http, 443 for https). Only http and
 * https are fetched. Redirects are followed here, one hop at a time, and every hop is
 * checked against the list: a redirect to a host outside it is refused (NET_NOT_ALLOWED),
 * never followed.
 *
 * What it protects: a cell cannot open any connection itself, so it reaches exactly the
 * listed origins, through the host's resolver and connection. What it does not: the host
 * resolves names when it connects, so a listed name whose DNS points somewhere else (a
 * rebinding attack on a name you do not control) is followed there; a listed origin may
 * itself forward what it receives; and the response body is read whole into the host
 * before it is handed to the cell (it is not streamed; its size is bounded by the frame
 * limit of the wire).
 */
import type { Capability } from "./capabilities.ts";

/** Redirect hops one fetch may follow. */
const MAX_REDIRECTS = 10;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** What a cell's `fetch` sends: the worker reduces `fetch(input, init)` to this. */
export interface FetchRequest {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
}

/** What comes back; the worker turns it into a `Response`. */
export interface FetchReply {
  status: number;
  statusText: string;
  headers: Record<string, string>;
  body: Uint8Array;
  /** The URL the body came from, after redirects. */
  url: string;
}

interface AllowEntry {
  host: string;
  port: string | undefined;
}

/**
 * The allow-list `fetch` capability.
 * @throws TypeError for an entry that is not `host` or `host:port`.
 */
export function allowListFetch(allow: readonly string[]): Capability {
  const entries = allow.map(parseEntry);
  return async (url: unknown, request: FetchRequest = {}): Promise<FetchReply> => {
    if (typeof url !== "string") throw coded("NET_BAD_REQUEST", "fetch() takes a URL string");
    let current = parseUrl(url);
    let method = request.method ?? "GET";
    let body = request.body;
    for (let hop = 0; ; hop++) {
      check(entries, current);
      const response = await fetch(current, {
        method,
        ...(request.headers === undefined ? {} : { headers: request.headers }),
        ...(body === undefined ? {} : { body }),
        redirect: "manual",
      });
      const location = response.headers.get("location");
      if (REDIRECTS.has(response.status) && location !== null) {
        await response.body?.cancel();
        if (hop === MAX_REDIRECTS) {
          throw coded("NET_TOO_MANY_REDIRECTS", `more than ${MAX_REDIRECTS} redirects from ${url}`);
        }
        current = parseUrl(new URL(location, current).href);
        // As browsers do: 303, and 301/302 after a POST, go on as a GET without a body.
        if (response.status === 303 || (response.status <= 302 && method === "POST")) {
          method = "GET";
          body = undefined;
        }
        continue;
      }
      return {
        status: response.status,
        statusText: response.statusText,
        headers: Object.fromEntries(response.headers),
        body: new Uint8Array(await response.arrayBuffer()),
        url: current.href,
      };
    }
  };
}

function parseEntry(entry: string): AllowEntry {
  const match = /^(\[[0-9a-fA-F:.]+\]|[^:/\s]+)(?::(\d{1,5}))?$/.exec(entry.trim());
  if (match === null || match[1] === undefined) {
    throw new TypeError(`permissions.net.allow: ${JSON.stringify(entry)} is not host or host:port`);
  }
  return { host: match[1].toLowerCase(), port: match[2] };
}

function parseUrl(text: string): URL {
  try {
    return new URL(text);
  } catch {
    throw coded("NET_BAD_REQUEST", `fetch(): ${JSON.stringify(text)} is not a URL`);
  }
}

function check(entries: readonly AllowEntry[], url: URL): void {
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw coded("NET_NOT_ALLOWED", `fetch(): only http and https are allowed, not ${url.protocol}`);
  }
  const host = url.hostname.toLowerCase();
  const port = url.port === "" ? (url.protocol === "https:" ? "443" : "80") : url.port;
  const allowed = entries.some(
    (entry) =>
      entry.host === host && (entry.port ?? (url.protocol === "https:" ? "443" : "80")) === port,
  );
  if (!allowed) {
    throw coded(
      "NET_NOT_ALLOWED",
      `fetch(): ${url.host} is not in permissions.net.allow (${entries.map(show).join(", ") || "empty"})`,
    );
  }
}

function show(entry: AllowEntry): string {
  return entry.port === undefined ? entry.host : `${entry.host}:${entry.port}`;
}

function coded(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}
