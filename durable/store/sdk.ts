/**
 * The one place that reaches into Resonate SDK internals. The embedded store drives the
 * SDK's own protocol state machine (`Server` in `network/local.js`), which the package
 * does not export; we obtain its class through the exported `LocalNetwork` (whose
 * instance holds a `server`) and check at runtime that it still has the shape we rely
 * on. `test/durable/sdk-shape.test.ts` fails loudly when a new SDK version changes it.
 */
import { randomUUID } from "node:crypto";
import {
  LocalNetwork,
  type Message,
  type Request,
  type Response,
  type Value,
} from "@resonatehq/sdk";
import sdkPackage from "@resonatehq/sdk/package.json" with { type: "json" };
import { StoreError } from "../../src/errors.ts";

/** The exact SDK version whose `Server` internals this store was written against. */
export const PINNED_SDK_VERSION = "0.11.5";

export const installedSdkVersion: string = sdkPackage.version;

/**
 * The protocol version the SDK puts in request heads (its internal `util.VERSION`). The
 * local Server does not check it; the store sends it for requests it makes itself.
 */
export const PROTOCOL_VERSION = "2026-04-01";

/** A request head for a request the store applies on its own behalf. */
export function storeRequestHead(): { corrId: string; version: string } {
  return { corrId: `capsule-store-${randomUUID()}`, version: PROTOCOL_VERSION };
}

export type PromiseState =
  | "pending"
  | "resolved"
  | "rejected"
  | "rejected_canceled"
  | "rejected_timedout";

export interface ServerPromise {
  id: string;
  state: PromiseState;
  param: Value;
  value: Value;
  tags: Record<string, string>;
  timeoutAt: number;
  createdAt: number;
  settledAt: number | null;
  callbacks: Set<string>;
  listeners: Set<string>;
}

export type TaskState = "pending" | "acquired" | "suspended" | "halted" | "fulfilled";

export interface ServerTask {
  id: string;
  state: TaskState;
  version: number;
  pid?: string | undefined;
  ttl?: number | undefined;
  resumes: Set<string>;
}

export interface ServerSchedule {
  id: string;
  cron: string;
  promiseId: string;
  promiseTimeout: number;
  promiseParam: Value;
  promiseTags: Record<string, string>;
  createdAt: number;
  lastRunAt?: number | undefined;
}

export interface PromiseTimeout {
  id: string;
  timeout: number;
}

/** type 0: retry of a pending task; type 1: lease of an acquired task. */
export interface TaskTimeout {
  id: string;
  type: 0 | 1;
  timeout: number;
}

export interface ScheduleTimeout {
  id: string;
  timeout: number;
}

/** The change kinds `Server.apply` reports; the store handles every one of them. */
export const HANDLED_CHANGE_KINDS = [
  "promise.set",
  "task.set",
  "schedule.set",
  "schedule.del",
  "ptimeout.set",
  "ptimeout.del",
  "ttimeout.set",
  "ttimeout.del",
  "stimeout.set",
  "stimeout.del",
  "message.send",
] as const;

export type ServerChange =
  | { kind: "promise.set"; promise: { id: string; state: PromiseState } }
  | { kind: "task.set"; task: { id: string } }
  | { kind: "schedule.set"; schedule: { id: string } }
  | { kind: "schedule.del"; id: string }
  | { kind: "ptimeout.set"; timeout: { id: string } }
  | { kind: "ptimeout.del"; id: string }
  | { kind: "ttimeout.set"; timeout: { id: string } }
  | { kind: "ttimeout.del"; id: string }
  | { kind: "stimeout.set"; timeout: { id: string } }
  | { kind: "stimeout.del"; id: string }
  | { kind: "message.send"; address: string; message: Message };

/** The part of the SDK's `Server` the store relies on. */
export interface ProtocolServer {
  promises: Map<string, ServerPromise>;
  tasks: Map<string, ServerTask>;
  schedules: Map<string, ServerSchedule>;
  pTimeouts: PromiseTimeout[];
  tTimeouts: TaskTimeout[];
  sTimeouts: ScheduleTimeout[];
  outgoing: { address: string; message: Message }[];
  apply(now: number, req: Request): { response: Response; changes: ServerChange[] };
}

type ServerConstructor = new () => ProtocolServer;

const REQUIRED_FIELDS = [
  ["promises", Map],
  ["tasks", Map],
  ["schedules", Map],
  ["pTimeouts", Array],
  ["tTimeouts", Array],
  ["sTimeouts", Array],
  ["outgoing", Array],
] as const;

function shapeError(detail: string): StoreError {
  return new StoreError(
    "STORE_SDK_SHAPE",
    `@resonatehq/sdk ${installedSdkVersion} does not have the protocol Server shape the embedded store needs (pinned ${PINNED_SDK_VERSION}): ${detail}`,
  );
}

/** Lists what is missing or different in a Server instance; empty when the shape fits. */
export function describeShapeMismatch(candidate: unknown): string[] {
  if (typeof candidate !== "object" || candidate === null) return ["server is not an object"];
  const problems: string[] = [];
  for (const [field, kind] of REQUIRED_FIELDS) {
    const value: unknown = Reflect.get(candidate, field);
    if (!(value instanceof kind)) problems.push(`field ${field} is not a ${kind.name}`);
  }
  if (typeof Reflect.get(candidate, "apply") !== "function") problems.push("apply is not a method");
  return problems;
}

function locateServerClass(): ServerConstructor {
  // The LocalNetwork constructor only builds its Server; timers start in init().
  const carrier: unknown = Reflect.get(new LocalNetwork(), "server");
  const problems = describeShapeMismatch(carrier);
  if (problems.length > 0) throw shapeError(problems.join("; "));
  const ctor: unknown = Reflect.get(Object.getPrototypeOf(carrier) as object, "constructor");
  if (typeof ctor !== "function") throw shapeError("Server has no constructor");
  return ctor as ServerConstructor;
}

let serverClass: ServerConstructor | undefined;

/** A fresh, empty instance of the SDK's own protocol server state machine. */
export function createProtocolServer(): ProtocolServer {
  if (installedSdkVersion !== PINNED_SDK_VERSION) {
    throw shapeError(`installed version ${installedSdkVersion} is not the pinned one`);
  }
  serverClass ??= locateServerClass();
  return new serverClass();
}
