import type { ExecutionMode, MessageOf } from "../../src/protocol/messages.ts";

/** A prepared cell as the worker receives it (see `src/prepare`). */
export interface CellPlan {
  id: string;
  /** Prepared JavaScript, run as one classic script in the session context. */
  source: string;
  /** When true the script's completion value is a promise of the cell's value. */
  async: boolean;
  mode: ExecutionMode;
  timeoutMs: number;
  /** Top-level names the cell declares. */
  declared: string[];
  /** Names the cell uses without declaring them. */
  free: string[];
  /** Free names the cell assigns. */
  assigned: string[];
  /** Straight-line code (no loop or call); kept for diagnostics, no longer changes how the cell runs. */
  bounded: boolean;
  /** Names bound by the cell's `import` declarations. */
  imports: { name: string; specifier: string; imported: string }[];
}

/** The plan of an `execute`, its optional fields at their defaults. */
export function planOf(message: MessageOf<"execute">, defaultTimeoutMs: number): CellPlan {
  return {
    id: message.id,
    source: message.code,
    async: message.async ?? false,
    mode: message.mode ?? "simple_sync",
    timeoutMs: message.timeout_ms ?? defaultTimeoutMs,
    declared: message.declared ?? [],
    free: message.free ?? [],
    assigned: message.assigned ?? [],
    imports: message.imports ?? [],
    bounded: message.bounded ?? false,
  };
}

export interface CellOutcome {
  value: unknown;
  /** The mode the cell really ran in: a simple cell whose value is a promise is `async_def`. */
  mode: ExecutionMode;
}

export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === "object" || typeof value === "function") &&
    value !== null &&
    typeof (value as { then?: unknown }).then === "function"
  );
}
