/**
 * `task.search` and `schedule.search` for the embedded store. The SDK's local Server
 * answers both with 501; a Resonate server implements them, so `capsule serve` must too.
 * Reads, nothing to persist: tasks from the database (the server's map holds only the
 * loaded ones), schedules from memory (all of them are loaded). Filters as Resonate's: a task's
 * `state`, a schedule's `tags` (every given tag equal among its promise tags).
 */
import type { Request, Response, ScheduleRecord, TaskRecord } from "@resonatehq/sdk";
import { byId, page } from "./paging.ts";
import type { ProtocolServer, ServerSchedule, ServerTask } from "./sdk.ts";
import type { StoreDatabase } from "./store-db.ts";

type TaskSearch = Extract<Request, { kind: "task.search" }>;
type ScheduleSearch = Extract<Request, { kind: "schedule.search" }>;

/** Resonate's defaults: 100 tasks, 10 schedules a page. */
const TASK_PAGE = 100;
const SCHEDULE_PAGE = 10;

export function searchTasks(
  database: StoreDatabase,
  req: TaskSearch,
): Extract<Response, { kind: "task.search" }> {
  const head = { corrId: req.head.corrId, version: req.head.version };
  const found = database.tasksWhere(req.data.state).sort(byId);
  const result = page(found, req.data, TASK_PAGE);
  if ("error" in result)
    return { kind: "task.search", head: { ...head, status: 400 }, data: result.error };
  return {
    kind: "task.search",
    head: { ...head, status: 200 },
    data: { tasks: result.items.map(taskRecord), ...cursorOf(result) },
  };
}

export function searchSchedules(
  server: ProtocolServer,
  req: ScheduleSearch,
): Extract<Response, { kind: "schedule.search" }> {
  const head = { corrId: req.head.corrId, version: req.head.version };
  const wanted = Object.entries(req.data.tags ?? {});
  const found = [...server.schedules.values()]
    .filter((schedule) => wanted.every(([key, value]) => schedule.promiseTags[key] === value))
    .sort(byId);
  const result = page(found, req.data, SCHEDULE_PAGE);
  if ("error" in result)
    return { kind: "schedule.search", head: { ...head, status: 400 }, data: result.error };
  return {
    kind: "schedule.search",
    head: { ...head, status: 200 },
    data: { schedules: result.items.map((s) => scheduleRecord(server, s)), ...cursorOf(result) },
  };
}

function cursorOf(result: { cursor?: string }): { cursor?: string } {
  return result.cursor === undefined ? {} : { cursor: result.cursor };
}

/** The record shape the SDK's own Server gives in `task.get`. */
function taskRecord(task: ServerTask): TaskRecord {
  return {
    id: task.id,
    version: task.version,
    state: task.state,
    resumes: [...task.resumes],
    ...(task.pid === undefined ? {} : { pid: task.pid }),
    ...(task.ttl === undefined ? {} : { ttl: task.ttl }),
  };
}

function scheduleRecord(server: ProtocolServer, schedule: ServerSchedule): ScheduleRecord {
  const next = server.sTimeouts.find((timeout) => timeout.id === schedule.id);
  return {
    id: schedule.id,
    cron: schedule.cron,
    promiseId: schedule.promiseId,
    promiseTimeout: schedule.promiseTimeout,
    promiseParam: schedule.promiseParam,
    promiseTags: schedule.promiseTags,
    createdAt: schedule.createdAt,
    nextRunAt: next?.timeout ?? schedule.createdAt,
    ...(schedule.lastRunAt == null ? {} : { lastRunAt: schedule.lastRunAt }),
  };
}
