/**
 * `promise.search` for the embedded store. The SDK's local Server answers it with 501;
 * Capsule's inspection (list, show, tree) needs it, and a Resonate server implements it,
 * so the store answers it itself: a read of the database (nothing to persist), which holds
 * every promise, settled ones that were never loaded into the server included; a
 * `resonate:origin` tag filter uses the database's origin index.
 *
 * Filters: `state` (exact) and `tags` (every given tag equal). Results are ordered by
 * creation time, then id; `cursor` is the opaque offset of the next page.
 */
import type { PromiseRecord, Request, Response } from "@resonatehq/sdk";
import { byId, page } from "./paging.ts";
import type { ServerPromise } from "./sdk.ts";
import type { StoreDatabase } from "./store-db.ts";

type SearchRequest = Extract<Request, { kind: "promise.search" }>;
type SearchResponse = Extract<Response, { kind: "promise.search" }>;

const DEFAULT_LIMIT = 100;

function matches(promise: ServerPromise, data: SearchRequest["data"]): boolean {
  if (data.state !== undefined && promise.state !== data.state) return false;
  for (const [key, value] of Object.entries(data.tags ?? {})) {
    if (promise.tags[key] !== value) return false;
  }
  return true;
}

function toRecord(promise: ServerPromise): PromiseRecord {
  return {
    id: promise.id,
    state: promise.state,
    param: promise.param,
    value: promise.value,
    tags: promise.tags,
    timeoutAt: promise.timeoutAt,
    createdAt: promise.createdAt,
    ...(promise.settledAt === null ? {} : { settledAt: promise.settledAt }),
  };
}

export function searchPromises(database: StoreDatabase, req: SearchRequest): SearchResponse {
  const head = { corrId: req.head.corrId, version: req.head.version };
  const found = database
    .promisesWhere({ state: req.data.state, origin: req.data.tags?.["resonate:origin"] })
    .filter((promise) => matches(promise, req.data))
    .sort((a, b) => a.createdAt - b.createdAt || byId(a, b));
  const result = page(found, req.data, DEFAULT_LIMIT);
  if ("error" in result)
    return { kind: "promise.search", head: { ...head, status: 400 }, data: result.error };
  return {
    kind: "promise.search",
    head: { ...head, status: 200 },
    data: {
      promises: result.items.map(toRecord),
      ...(result.cursor === undefined ? {} : { cursor: result.cursor }),
    },
  };
}
