/**
 * What an orchestrator asks a worker group for, and what a worker answers: the one
 * generic durable function every `capsule worker` registers runs one cell of one
 * session. Its argument is recorded in the store (the rpc promise's param) and its value
 * is the same StepRecord the in-process path records, plus where it ran.
 *
 * The request carries no checkpoint: it names the session's previous step, whose
 * promise (and the ones before it) hold the checkpoint chain in the store, so any
 * worker can rebuild the namespace and the orchestrator's memory holds nothing needed.
 */
import { CapsuleError } from "../../src/errors.ts";
import type { ExecuteOptions } from "../../src/session/index.ts";
import type { StepRecord } from "../step-record.ts";

/** The name the worker registers its cell function under. */
export const CELL_FUNCTION = "capsule:cell";

/** The request's version: a worker refuses one it does not know. */
export const CELL_REQUEST_VERSION = 1;

export interface CellRequest {
  v: typeof CELL_REQUEST_VERSION;
  /** The execution (its origin id) the session belongs to: with `session`, its key. */
  execution: string;
  session: string;
  /** The cell's position in the session, from 0. */
  index: number;
  code: string;
  /** Id of the session's previous step ("" for its first cell). */
  prev: string;
  timeoutMs?: number;
  mode?: ExecuteOptions["mode"];
  /** The orchestrator watches the output live: write it to the step's output log. */
  live?: boolean;
  /** A question (`input()`) unanswered this long fails with INPUT_TIMEOUT; default: none. */
  inputTimeoutMs?: number;
  /**
   * Names of the capabilities the cell may call (the orchestrator runs them, see
   * remote-capabilities.ts): known before the cell is prepared, so they are protected.
   */
  capabilities?: string[];
}

/** How the worker got the namespace it ran the cell in. */
export type SessionStart = "live" | "restored" | "fresh";

export interface RanOn {
  /** The worker's process id on the Resonate server (its SDK pid). */
  worker: string;
  group: string;
  /** OS pid of the worker process, and of the session subprocess the cell ran in. */
  hostPid: number;
  sessionPid: number | undefined;
  /** "live": the worker's session was at the previous step; no restore happened. */
  start: SessionStart;
  /** The attempt token the cell's live output was written under (see output-log.ts). */
  stream?: string;
}

export type RemoteStepRecord = StepRecord & { ranOn: RanOn };

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const MODES: readonly string[] = ["top_level_await", "async_def", "blocking_sync", "simple_sync"];

function invalid(what: string): CapsuleError {
  return new CapsuleError("GROUP_REQUEST_INVALID", `capsule:cell request: ${what}`);
}

/** Checks a request read from the store (any client could have written it). */
export function parseCellRequest(value: unknown): CellRequest {
  if (typeof value !== "object" || value === null) throw invalid("not an object");
  const r = value as Record<string, unknown>;
  if (r.v !== CELL_REQUEST_VERSION) throw invalid(`unsupported version ${String(r.v)}`);
  for (const key of ["execution", "session", "code", "prev"] as const) {
    if (typeof r[key] !== "string") throw invalid(`${key} is not a string`);
  }
  if (typeof r.index !== "number" || !Number.isInteger(r.index) || r.index < 0) {
    throw invalid("index is not a cell position");
  }
  if (r.timeoutMs !== undefined && (typeof r.timeoutMs !== "number" || r.timeoutMs <= 0)) {
    throw invalid("timeoutMs is not a positive number");
  }
  if (r.mode !== undefined && (typeof r.mode !== "string" || !MODES.includes(r.mode))) {
    throw invalid(`unknown mode ${String(r.mode)}`);
  }
  if (
    r.inputTimeoutMs !== undefined &&
    (typeof r.inputTimeoutMs !== "number" || r.inputTimeoutMs <= 0)
  ) {
    throw invalid("inputTimeoutMs is not a positive number");
  }
  if (r.live !== undefined && typeof r.live !== "boolean") throw invalid("live is not a boolean");
  if (
    r.capabilities !== undefined &&
    (!Array.isArray(r.capabilities) ||
      !r.capabilities.every((name) => typeof name === "string" && IDENTIFIER.test(name)))
  ) {
    throw invalid("capabilities is not a list of names");
  }
  return value as CellRequest;
}

/** Narrows a recorded value to a worker's answer (a StepRecord with `ranOn`). */
export function ranOnOf(value: unknown): RanOn | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const ranOn = (value as { ranOn?: unknown }).ranOn;
  if (typeof ranOn !== "object" || ranOn === null) return undefined;
  const r = ranOn as Record<string, unknown>;
  if (r.stream !== undefined && typeof r.stream !== "string") return undefined;
  return typeof r.worker === "string" && typeof r.group === "string" ? (ranOn as RanOn) : undefined;
}
