/**
 * Row encoding of the protocol server's objects. A row holds the object's full state,
 * including the Sets the SDK's change records leave out (a promise's callbacks and
 * listeners, a task's buffered resumes), so a rebuilt server is the same server.
 */
import { StoreError } from "../../src/errors.ts";
import type { ServerPromise, ServerSchedule, ServerTask } from "./sdk.ts";

interface PromiseBody extends Omit<ServerPromise, "callbacks" | "listeners"> {
  callbacks: string[];
  listeners: string[];
}

interface TaskBody extends Omit<ServerTask, "resumes"> {
  resumes: string[];
}

export function encodePromise(promise: ServerPromise): string {
  const body: PromiseBody = {
    ...promise,
    callbacks: [...promise.callbacks],
    listeners: [...promise.listeners],
  };
  return JSON.stringify(body);
}

export function encodeTask(task: ServerTask): string {
  const body: TaskBody = { ...task, resumes: [...task.resumes] };
  return JSON.stringify(body);
}

export function encodeSchedule(schedule: ServerSchedule): string {
  return JSON.stringify(schedule);
}

function parseObject(table: string, id: string, text: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw new StoreError("STORE_CORRUPT", `${table} row ${id} is not valid JSON`, { cause });
  }
  if (typeof parsed !== "object" || parsed === null || Reflect.get(parsed, "id") !== id) {
    throw new StoreError("STORE_CORRUPT", `${table} row ${id} does not hold that object`);
  }
  return parsed as Record<string, unknown>;
}

function stringArray(table: string, id: string, value: unknown): string[] {
  if (!Array.isArray(value) || !value.every((item) => typeof item === "string")) {
    throw new StoreError("STORE_CORRUPT", `${table} row ${id} has a malformed id list`);
  }
  return value;
}

export function decodePromise(id: string, text: string): ServerPromise {
  const body = parseObject("promises", id, text);
  if (typeof body.state !== "string" || typeof body.timeoutAt !== "number") {
    throw new StoreError("STORE_CORRUPT", `promises row ${id} lacks state or timeoutAt`);
  }
  return {
    ...(body as unknown as PromiseBody),
    callbacks: new Set(stringArray("promises", id, body.callbacks)),
    listeners: new Set(stringArray("promises", id, body.listeners)),
  };
}

export function decodeTask(id: string, text: string): ServerTask {
  const body = parseObject("tasks", id, text);
  if (typeof body.state !== "string" || typeof body.version !== "number") {
    throw new StoreError("STORE_CORRUPT", `tasks row ${id} lacks state or version`);
  }
  return {
    ...(body as unknown as TaskBody),
    resumes: new Set(stringArray("tasks", id, body.resumes)),
  };
}

export function decodeSchedule(id: string, text: string): ServerSchedule {
  const body = parseObject("schedules", id, text);
  if (typeof body.cron !== "string") {
    throw new StoreError("STORE_CORRUPT", `schedules row ${id} lacks cron`);
  }
  return body as unknown as ServerSchedule;
}
