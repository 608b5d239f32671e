/**
 * Options of sessions and pools, with their defaults. Every limit is per session.
 */
import type { ExecutionMode } from "../protocol/messages.ts";
import type { Capabilities } from "./capabilities.ts";

export interface Limits {
  /** V8 heap limit and RSS watch of the worker, in MiB. Default 512. */
  memoryMb?: number;
  /** Default time limit of one execution, in ms. Default 30 000. */
  timeoutMs?: number;
  /** Open file descriptors the worker may hold (OS limit). Default 100. */
  maxFds?: number;
  /** Output one execution may stream before it is truncated, in bytes. Default 8 MiB. */
  outputBytes?: number;
  /** Largest checkpoint a worker may produce, in bytes. Default 64 MiB. */
  checkpointBytes?: number;
  /**
   * Largest cell source, in UTF-8 bytes, checked before any parsing. Default 1 MiB: far
   * above hand-written or generated cells (~25 000 lines), while preparing one costs the
   * host at most about a second of a parse thread and a few hundred MB, never its loop.
   */
  cellBytes?: number;
}

export interface Permissions {
  /** Extra paths the worker may read (its own working directory is always readable). */
  fsRead?: string[];
  /** Extra paths the worker may write (its own working directory is always writable). */
  fsWrite?: string[];
  /** Allow `child_process`. Default false. */
  childProcess?: boolean;
  /**
   * Network access (`fetch`, `net`, `http`, `tls`, `dgram`, `dns`). Default false: the
   * worker starts without Node's `--allow-net` and, in the OS sandbox, in a network
   * namespace of its own with no interfaces but loopback. `true` grants it.
   * `{ allow: ["api.example.com", "127.0.0.1:8080"] }` keeps the worker without network
   * and makes `fetch` in cells the host's, for those hosts only (see net-allow.ts).
   */
  net?: boolean | { allow: readonly string[] };
  /**
   * Allow `node:sqlite` in cells. Default false: SQLite opens files itself, outside the
   * permission model's file checks, so it would read and write any database the host
   * user can reach.
   */
  sqlite?: boolean;
}

/**
 * The OS sandbox around each worker. `namespaces`: bubblewrap with its own user, mount,
 * pid, IPC, UTS and network namespaces (fails to start where bubblewrap does not work);
 * `permissions-only`: a plain subprocess under Node's permission model; `auto` (default):
 * namespaces where bubblewrap works, else permissions-only with one warning per process.
 */
export type SandboxMode = "auto" | "namespaces" | "permissions-only";

export interface SessionOptions {
  limits?: Limits;
  permissions?: Permissions;
  /** The OS sandbox around the worker. Default `auto`. */
  sandbox?: SandboxMode;
  /** Environment variables the worker sees, on top of a scrubbed minimal set. */
  env?: Record<string, string>;
  /** Where `import` and `require` in cells resolve packages from. Default `process.cwd()`. */
  moduleRoot?: string;
  /** Emit a checkpoint after every successful cell. Default true. */
  checkpoint?: boolean;
  /**
   * Host functions cells may call as `await name(...args)` (see capabilities.ts). Their
   * names are protected in cells like `input`.
   */
  capabilities?: Capabilities;
  /**
   * Liveness of an idle worker: heartbeat interval and grace, in ms. Defaults 1000 and
   * 10 000: a worker silent for interval + grace gets a test request and is replaced if
   * it does not answer within another grace. Generous because a worker starved of CPU
   * (many starting at once on few cores) is slow, not hung.
   */
  heartbeatMs?: number;
  graceMs?: number;
  /**
   * Time a worker gets to stop a timed-out or cancelled cell itself (keeping the
   * namespace) before the host kills and restarts it, in ms. Default 2000. Raise it on a
   * machine so loaded that a worker's own stop can take longer.
   */
  stopGraceMs?: number;
  /**
   * Load and compile the checkpoint codec while the worker idles after start, so its
   * first checkpoint or restore is as fast as later ones. Costs ~5 MiB of private memory
   * per idle worker. Default false for a `Session` (the codec loads when a cell first
   * names something), true for a `SessionPool`'s workers, which wait idle to be leased.
   */
  warmCheckpoints?: boolean;
  /** Crashes of one session tolerated within `respawnWindowMs` before it gives up. Default 3 in 60 s. */
  maxRespawns?: number;
  respawnWindowMs?: number;
}

export interface ExecuteOptions {
  /** Called for each piece of output, in order, while the cell runs. */
  onOutput?: (chunk: OutputChunk) => void;
  /** Answers `input(prompt)`; without it, `input()` fails in the cell. */
  onInput?: (prompt: string) => string | Promise<string>;
  /** Cancels the cell; the namespace is kept (see DESIGN "Cancellation"). */
  signal?: AbortSignal;
  /** Time limit of this execution, in ms (default: the session's `limits.timeoutMs`). */
  timeoutMs?: number;
  /** Forces an execution mode instead of detecting it. */
  mode?: ExecutionMode;
  /** Capabilities of this execution, over the session's (a name here replaces the session's). */
  capabilities?: Capabilities;
  /**
   * Time waiting for `input()` answers does not count against `timeoutMs`: the limit is
   * the cell's own time. Default false; durable executes set it (a question to a human may
   * wait for days).
   */
  inputPausesLimit?: boolean;
}

export interface OutputChunk {
  stream: "stdout" | "stderr" | "display";
  /** The text; for a rich display its `text/plain`. */
  data: string;
  /** Set on the marker that replaces output over the per-execution limit. */
  truncated?: boolean;
  /** A rich display (`display(value)` in the cell): its MIME bundle, an update or a clear. */
  rich?: RichOutput;
}

/** A `display` message of the worker, as output (see DisplaySchema in src/protocol/messages.ts). */
export interface RichOutput {
  action: "display" | "update" | "clear";
  /** MIME type → data (text, base64 for binary, JSON for JSON types). */
  data: Record<string, unknown>;
  metadata?: Record<string, unknown>;
  displayId?: string;
  /** clear: only once the next output arrives. */
  wait?: boolean;
}

export interface ExecutionResult {
  /** The cell's value when it is plain data (see `hasValue`), else undefined. */
  value: unknown;
  /** Whether `value` carries the cell's value (false for functions, class instances…). */
  hasValue: boolean;
  /** A readable rendering of the value, like a REPL prints it. */
  display: string;
  mode: ExecutionMode;
  /** Time the cell ran inside the worker, in ms. */
  executionTime: number;
  /**
   * Why the checkpoint after the cell failed (`CHECKPOINT_TOO_LARGE`, …), when it did:
   * the result stands, but what the cell changed is not in `lastCheckpoint()`.
   */
  checkpointError?: { code: string; message: string };
}

export interface ResolvedSessionOptions {
  memoryMb: number;
  timeoutMs: number;
  maxFds: number;
  outputBytes: number;
  checkpointBytes: number;
  cellBytes: number;
  /** `net` is true only for full network; an allow-list is `netAllow`. */
  permissions: Required<Omit<Permissions, "net">> & { net: boolean };
  /** Hosts the host's `fetch` capability may reach (`permissions.net.allow`), if granted so. */
  netAllow: readonly string[] | undefined;
  sandbox: SandboxMode;
  env: Record<string, string>;
  moduleRoot: string;
  checkpoint: boolean;
  capabilities: Capabilities;
  heartbeatMs: number;
  graceMs: number;
  stopGraceMs: number;
  warmCheckpoints: boolean;
  maxRespawns: number;
  respawnWindowMs: number;
}

export function resolveSessionOptions(options: SessionOptions = {}): ResolvedSessionOptions {
  const limits = options.limits ?? {};
  return {
    memoryMb: limits.memoryMb ?? 512,
    timeoutMs: limits.timeoutMs ?? 30_000,
    maxFds: limits.maxFds ?? 100,
    outputBytes: limits.outputBytes ?? 8 * 1024 * 1024,
    checkpointBytes: limits.checkpointBytes ?? 64 * 1024 * 1024,
    cellBytes: limits.cellBytes ?? 1024 * 1024,
    permissions: {
      fsRead: options.permissions?.fsRead ?? [],
      fsWrite: options.permissions?.fsWrite ?? [],
      childProcess: options.permissions?.childProcess ?? false,
      net: options.permissions?.net === true,
      sqlite: options.permissions?.sqlite ?? false,
    },
    sandbox: options.sandbox ?? "auto",
    env: options.env ?? {},
    moduleRoot: options.moduleRoot ?? process.cwd(),
    checkpoint: options.checkpoint ?? true,
    capabilities: options.capabilities ?? {},
    netAllow:
      typeof options.permissions?.net === "object" ? options.permissions.net.allow : undefined,
    heartbeatMs: options.heartbeatMs ?? 1000,
    graceMs: options.graceMs ?? 10_000,
    stopGraceMs: options.stopGraceMs ?? 2000,
    warmCheckpoints: options.warmCheckpoints ?? false,
    maxRespawns: options.maxRespawns ?? 3,
    respawnWindowMs: options.respawnWindowMs ?? 60_000,
  };
}
