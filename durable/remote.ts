/**
 * Remote mode: the SDK's HTTP network against a Resonate server, wired the way the
 * SDK's own `Resonate` constructor wires it (requests to `{url}`, messages by long poll
 * from `{url}/poll/{group}/{pid}`), built here so Capsule keeps a handle on the network
 * for its reads (list, show, tree) and for the recovery gate.
 *
 * Tested end to end against `capsule serve` (durable/serve/), which answers the same
 * protocol from the embedded store; not against Resonate's own server (none can be
 * installed where this repository's tests run).
 */
import { randomUUID } from "node:crypto";
import { HttpNetwork, type Network, PollMessageSource } from "@resonatehq/sdk";

export interface RemoteOptions {
  /** Base URL of the Resonate server, e.g. `http://localhost:8001`. */
  url: string;
  /** Worker group this process joins. Default "default". */
  group?: string;
  /** Process id on the server. Default: a random one. */
  pid?: string;
  /** Bearer token (default: env `RESONATE_TOKEN`, as the SDK reads it). */
  token?: string;
  /** Request timeout, ms (default: the SDK's, 10 s or env `RESONATE_TIMEOUT`). */
  timeoutMs?: number;
}

export interface RemoteNetwork {
  network: Network;
  pid: string;
  url: string;
  group: string;
}

/** The server URL from the options, else from env `RESONATE_URL`; undefined for local mode. */
export function resolveRemoteUrl(url: string | undefined): string | undefined {
  const resolved = url ?? process.env.RESONATE_URL;
  return resolved === undefined || resolved === "" ? undefined : resolved.replace(/\/+$/, "");
}

export function createRemoteNetwork(options: RemoteOptions): RemoteNetwork {
  const group = options.group ?? "default";
  const pid = options.pid ?? randomUUID().replace(/-/g, "");
  const token = options.token;
  const adapter = new PollMessageSource({
    url: `${options.url}/poll/${encodeURIComponent(group)}/${encodeURIComponent(pid)}`,
    ...(token === undefined ? {} : { token }),
  });
  const network = new HttpNetwork({
    url: options.url,
    headers: {},
    adapter,
    ...(token === undefined ? {} : { token }),
    ...(options.timeoutMs === undefined ? {} : { timeout: options.timeoutMs }),
  });
  return { network, pid, url: options.url, group };
}
