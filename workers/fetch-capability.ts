/**
 * `fetch` in a cell when the host grants network by allow-list: the cell's
 * `fetch(input, init)` is reduced to plain data (URL string, method, headers, body), sent
 * to the host's `fetch` capability (src/session/net-allow.ts), and its reply becomes a
 * `Response` again, so cells use `await (await fetch(url)).json()` as usual.
 */

/** The reply of the host capability (see `FetchReply` in src/session/net-allow.ts). */
interface FetchReply {
  status: number;
  statusText: string;
  headers: Record<string, string>;
  body: Uint8Array;
  url: string;
}

/** Statuses whose response must have no body. */
const NULL_BODY = new Set([101, 204, 205, 304]);

/** Wraps the raw capability call into a `fetch`-shaped function. */
export function fetchThroughHost(
  call: (args: unknown[]) => Promise<unknown>,
): (input: unknown, init?: unknown) => Promise<Response> {
  return async (input, init) => {
    const reply = (await call([urlOf(input), requestOf(init)])) as FetchReply;
    const response = new Response(NULL_BODY.has(reply.status) ? null : reply.body, {
      status: reply.status,
      statusText: reply.statusText,
      headers: reply.headers,
    });
    Object.defineProperty(response, "url", { value: reply.url });
    return response;
  };
}

function urlOf(input: unknown): string {
  if (typeof input === "string") return input;
  if (typeof input === "object" && input !== null) {
    const href: unknown = Reflect.get(input, "href");
    if (typeof href === "string") return href; // a URL
    const url: unknown = Reflect.get(input, "url");
    if (typeof url === "string") return url; // a Request (its method and body are not carried)
  }
  throw new TypeError("fetch(): the first argument must be a URL string or URL");
}

function requestOf(init: unknown): Record<string, unknown> {
  if (init === undefined || init === null) return {};
  if (typeof init !== "object") throw new TypeError("fetch(): init must be an object");
  const request: Record<string, unknown> = {};
  const method: unknown = Reflect.get(init, "method");
  if (method !== undefined) request.method = String(method);
  const headers: unknown = Reflect.get(init, "headers");
  if (headers !== undefined) {
    request.headers = Object.fromEntries(
      new Headers(headers as ConstructorParameters<typeof Headers>[0]),
    );
  }
  const body: unknown = Reflect.get(init, "body");
  if (typeof body === "string") request.body = body;
  else if (ArrayBuffer.isView(body)) {
    request.body = new Uint8Array(
      body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength),
    );
  } else if (body instanceof ArrayBuffer) request.body = new Uint8Array(body.slice(0));
  else if (body !== undefined && body !== null) {
    throw new TypeError("fetch(): a body must be a string, an ArrayBuffer or a typed array");
  }
  return request;
}
