/**
 * Read-only views of what the store holds, for the CLI: `list()` (executions and named
 * sessions), `show(id)` (the cells of an execution or a named session, in order, with
 * their code, output and result or error) and `tree(id)` (the call graph of an
 * execution's durable promises with their states, like Resonate's `tree`).
 */
import type { Network, PromiseRecord } from "@resonatehq/sdk";
import { CapsuleError } from "../src/errors.ts";
import type { OutputChunk } from "../src/session/index.ts";
import { ATTEMPT_KIND } from "./attempt-ledger.ts";
import { CAPABILITY_KIND } from "./capability-steps.ts";
import { uncarryError } from "./carried-error.ts";
import { OUTPUT_KIND } from "./groups/output-log.ts";
import { INPUT_KIND } from "./human-input.ts";
import { SESSION_CELL_KIND } from "./named-sessions.ts";
import { decodeValue, getPromise, searchPromises } from "./promise-query.ts";
import { isStepRecord, type RecordedError, recordError } from "./step-record.ts";

export const EXECUTION_KIND = "execution";

export type PromiseState = PromiseRecord["state"];

export interface ExecutionSummary {
  id: string;
  func: string;
  state: PromiseState;
  createdAt: number;
  settledAt?: number;
}

export interface SessionSummary {
  name: string;
  cells: number;
  /** State of the latest cell. */
  state: PromiseState;
  updatedAt: number;
}

export interface Listing {
  executions: ExecutionSummary[];
  sessions: SessionSummary[];
}

export interface CellView {
  /** Id of the durable promise that recorded the cell. */
  id: string;
  /** The durable session it ran in. */
  session: string;
  state: PromiseState;
  code?: string;
  output: OutputChunk[];
  /** The cell's value and display, when it succeeded. */
  result?: { value: unknown; hasValue: boolean; display: string };
  error?: RecordedError;
}

export interface ShowView {
  id: string;
  kind: "execution" | "session";
  state: PromiseState;
  cells: CellView[];
  /** The execution's value (executions only, once resolved). */
  value?: unknown;
}

export interface TreeNode {
  id: string;
  state: PromiseState;
  /** Function name, `sleep`, `promise` (latent) or `execute` (a durable cell). */
  label: string;
  children: TreeNode[];
}

type Send = Network["send"];

function funcOf(record: PromiseRecord): string {
  const param = decodeValue(record, "param");
  if (typeof param === "object" && param !== null && "func" in param) {
    return String(param.func);
  }
  return "";
}

export async function list(send: Send): Promise<Listing> {
  const roots = await searchPromises(send, { "capsule:kind": EXECUTION_KIND });
  const executions = roots.map((record) => ({
    id: record.id,
    func: funcOf(record),
    state: record.state,
    createdAt: record.createdAt,
    ...(record.settledAt === undefined ? {} : { settledAt: record.settledAt }),
  }));
  const cells = await searchPromises(send, { "capsule:kind": SESSION_CELL_KIND });
  const byName = new Map<string, SessionSummary & { last: number }>();
  for (const cell of cells) {
    const name = cell.tags["capsule:session"] ?? "";
    const n = Number(cell.tags["capsule:cell"]);
    const summary = byName.get(name) ?? {
      name,
      cells: 0,
      state: cell.state,
      updatedAt: 0,
      last: 0,
    };
    summary.cells++;
    if (n >= summary.last) {
      summary.last = n;
      summary.state = cell.state;
    }
    summary.updatedAt = Math.max(summary.updatedAt, cell.settledAt ?? cell.createdAt);
    byName.set(name, summary);
  }
  const sessions = [...byName.values()]
    .map(({ last: _last, ...summary }) => summary)
    .sort((a, b) => (a.name < b.name ? -1 : 1));
  return { executions, sessions };
}

function cellView(record: PromiseRecord, session: string): CellView {
  const view: CellView = { id: record.id, session, state: record.state, output: [] };
  if (record.state === "pending") return view;
  const value = decodeValue(record);
  if (!isStepRecord(value)) {
    // A step that failed for good holds the SDK-encoded error: a carried CapsuleError
    // (e.g. PoisonCellError) or, after its retries, a worker crash.
    const carried = uncarryError(value);
    if (carried instanceof CapsuleError) {
      view.error = recordError(carried);
      return view;
    }
    const className = value instanceof Error ? value.name : "Error";
    view.error = {
      code: className === "WorkerCrashedError" ? "WORKER_CRASHED" : "STEP_FAILED",
      className,
      message: value instanceof Error ? value.message : String(value),
    };
    return view;
  }
  view.code = value.code;
  view.output = value.output;
  if (value.ok) {
    const { value: result, hasValue, display } = value.result;
    view.result = { value: result, hasValue, display };
  } else {
    view.error = value.error;
  }
  return view;
}

/** Lineage-ordered comparison of ids like `run:1`, `run:1.2`, `run:10`. */
function compareIds(a: string, b: string): number {
  const pa = a.split(/[:.]/);
  const pb = b.split(/[:.]/);
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const x = pa[i] ?? "";
    const y = pb[i] ?? "";
    if (x === y) continue;
    const nx = Number(x);
    const ny = Number(y);
    if (Number.isInteger(nx) && Number.isInteger(ny)) return nx - ny;
    return x < y ? -1 : 1;
  }
  return pa.length - pb.length;
}

/** Cells of an execution (`id`) or a named session (`session/<name>`, or just `<name>`). */
export async function show(send: Send, id: string): Promise<ShowView> {
  const root = await getPromise(send, id);
  if (root !== undefined && root.tags["capsule:kind"] !== SESSION_CELL_KIND) {
    const steps = await searchPromises(send, {
      "resonate:origin": id,
      "capsule:step": "execute",
    });
    steps.sort((a, b) => compareIds(a.id, b.id));
    return {
      id,
      kind: "execution",
      state: root.state,
      cells: steps.map((step) => cellView(step, step.tags["capsule:session"] ?? "")),
      ...(root.state === "resolved" ? { value: decodeValue(root) } : {}),
    };
  }
  const name = id.startsWith("session/") ? id.slice("session/".length) : id;
  const cells = await searchPromises(send, {
    "capsule:kind": SESSION_CELL_KIND,
    "capsule:session": name,
  });
  if (cells.length === 0) {
    throw new CapsuleError("DURABLE_NOT_FOUND", `no execution or session named ${id}`);
  }
  cells.sort((a, b) => Number(a.tags["capsule:cell"]) - Number(b.tags["capsule:cell"]));
  const last = cells[cells.length - 1];
  return {
    id: `session/${name}`,
    kind: "session",
    state: last === undefined ? "pending" : last.state,
    cells: cells.map((cell) => cellView(cell, name)),
  };
}

function labelOf(record: PromiseRecord): string {
  if (record.tags["resonate:timer"] === "true") return "sleep";
  // A question (pending until answered) and a recorded capability call of a durable cell.
  if (record.tags["capsule:kind"] === INPUT_KIND) return "input";
  if (record.tags["capsule:kind"] === CAPABILITY_KIND) {
    return `capability ${record.tags["capsule:capability"] ?? ""}`;
  }
  if (record.tags["capsule:step"] === "execute") {
    return `execute(${record.tags["capsule:session"] ?? ""})`;
  }
  return funcOf(record) || "promise";
}

/** The durable promises of execution `id` as a tree (by their `resonate:parent` tag). */
export async function tree(send: Send, id: string): Promise<TreeNode> {
  const root = await getPromise(send, id);
  if (root === undefined) throw new CapsuleError("DURABLE_NOT_FOUND", `no execution ${id}`);
  const members = await searchPromises(send, {
    "resonate:origin": root.tags["resonate:origin"] ?? id,
  });
  const nodes = new Map<string, TreeNode>();
  const node = (record: PromiseRecord): TreeNode => ({
    id: record.id,
    state: record.state,
    label: labelOf(record),
    children: [],
  });
  const rootNode = node(root);
  nodes.set(root.id, rootNode);
  // Attempt markers (poison-cell bookkeeping) and a remote cell's live output batches
  // (its record holds the output) are Capsule's, not calls the user made.
  const calls = members.filter(
    (record) =>
      record.tags["capsule:kind"] !== ATTEMPT_KIND && record.tags["capsule:kind"] !== OUTPUT_KIND,
  );
  for (const record of calls) if (!nodes.has(record.id)) nodes.set(record.id, node(record));
  for (const record of calls) {
    const parentId = record.tags["resonate:parent"];
    if (record.id === root.id || parentId === undefined || parentId === record.id) continue;
    const child = nodes.get(record.id);
    const parent = nodes.get(parentId);
    if (child !== undefined && parent !== undefined) parent.children.push(child);
  }
  for (const each of nodes.values()) each.children.sort((a, b) => compareIds(a.id, b.id));
  return rootNode;
}
