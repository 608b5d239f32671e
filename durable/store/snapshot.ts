/**
 * `debug.snap` for the embedded store: the whole state, as the SDK's Server reports it.
 * The server's maps hold only what is live or was read since open (stored-map.ts), so
 * the snapshot is taken from a scratch server holding every promise and task of the
 * database plus the live server's schedules and timeouts (which are always loaded).
 * The caller commits what is pending first, so the database equals memory.
 */
import type { Request, Response } from "@resonatehq/sdk";
import { createProtocolServer, type ProtocolServer } from "./sdk.ts";
import type { StoreDatabase } from "./store-db.ts";

type SnapRequest = Extract<Request, { kind: "debug.snap" }>;

export function snapshot(
  server: ProtocolServer,
  database: StoreDatabase,
  now: number,
  req: SnapRequest,
): Response {
  const whole = createProtocolServer();
  for (const promise of database.promisesWhere({})) whole.promises.set(promise.id, promise);
  for (const task of database.tasksWhere(undefined)) whole.tasks.set(task.id, task);
  for (const [id, schedule] of server.schedules) whole.schedules.set(id, schedule);
  whole.pTimeouts = [...server.pTimeouts];
  whole.tTimeouts = [...server.tTimeouts];
  whole.sTimeouts = [...server.sTimeouts];
  whole.outgoing = [...server.outgoing];
  return whole.apply(now, req).response;
}
