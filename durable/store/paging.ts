/**
 * Paging of the store's own search answers (`promise.search`, `task.search`,
 * `schedule.search`): an opaque cursor (the offset of the next page) and a limit of at
 * most 1,000, as a Resonate server enforces; a bad cursor or limit is a 400.
 */
export const MAX_SEARCH_LIMIT = 1_000;

export type Page<T> = { items: T[]; cursor?: string } | { error: string };

export function page<T>(
  found: readonly T[],
  request: { cursor?: string | undefined; limit?: number | undefined },
  defaultLimit: number,
): Page<T> {
  const offset = request.cursor === undefined ? 0 : Number(request.cursor);
  const limit = request.limit ?? defaultLimit;
  if (!Number.isSafeInteger(offset) || offset < 0)
    return { error: "cursor is not one this store gave" };
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_SEARCH_LIMIT)
    return { error: `limit must be an integer from 1 to ${MAX_SEARCH_LIMIT}` };
  const items = found.slice(offset, offset + limit);
  const next = offset + items.length;
  return next < found.length ? { items, cursor: String(next) } : { items };
}

/** Orders records the way every search answers: by creation, then id. */
export function byId(a: { id: string }, b: { id: string }): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}
