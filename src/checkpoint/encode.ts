/**
 * Encoding entry point: runs the `Encoder` over the names to capture, writes the bytes,
 * and enforces the size bound.
 */
import { encode as msgpackEncode } from "@msgpack/msgpack";
import { CheckpointError } from "../errors.ts";
import { Encoder } from "./encoder.ts";
import { type CheckpointKind, type Slot, writeCheckpoint } from "./format.ts";
import { defaultContextGlobals } from "./globals.ts";
import type { OwnerGroup } from "./groups.ts";

export interface Uncaptured {
  name: string;
  reason: string;
}

export interface EncodedNamespace {
  data: Uint8Array;
  /** Names captured in `data`. */
  names: string[];
  uncaptured: Uncaptured[];
  bytes: number;
}

/** A value the worker got from an `import`: restored by importing again. */
export interface ModuleBinding {
  specifier: string;
  /** The export name; absent for the module namespace object itself. */
  export?: string;
  /** How the cell got it, so a restore gets the same object: `require` or `import()` (default). */
  via?: "require" | "import";
  /** Import attributes (`with { type: "json" }`) the module must be imported with again. */
  attributes?: Record<string, string>;
  /** A property of the export, for a value one level down (`readFile` of fs's `promises`). */
  member?: string;
}

export interface EncodeOptions {
  /** Largest checkpoint in bytes (default 64 MiB); over it → `CHECKPOINT_TOO_LARGE`. */
  maxBytes?: number;
  /** Tells which values came from an `import` (the worker records them). */
  moduleOf?: (value: unknown) => ModuleBinding | undefined;
  /** Names that resolve as builtins in the target context (default: a fresh context's). */
  contextGlobals?: ReadonlySet<string>;
}

export const DEFAULT_MAX_BYTES = 64 * 1024 * 1024;

/** What an encode knows beyond its bytes; `NamespaceCheckpointer` keeps it between calls. */
export interface EncodeRun extends EncodedNamespace {
  /** Which group of names reached each encoded object (see `groups.ts`). */
  owners: Array<[WeakKey, OwnerGroup]>;
}

export interface EncodePlan {
  kind: CheckpointKind;
  /** Every name of the namespace (for free-name resolution and namespace classes). */
  entries: ReadonlyMap<string, unknown>;
  /** Names to encode, in order; more may be added by `onPreviousOwner`. */
  encode: string[];
  removed: string[];
  /** Names that must also be encoded because an object they reached is reached now. */
  previousOwners?: (value: WeakKey) => Iterable<string> | undefined;
  /** Compute `owners` (only incremental checkpointing needs them). */
  trackOwners?: boolean;
}

/** Runs one encode (full or incremental) and enforces the size bound. */
export function runEncode(plan: EncodePlan, options: EncodeOptions = {}): EncodeRun {
  const queue = [...plan.encode];
  const queued = new Set(queue);
  const contextGlobals = options.contextGlobals ?? defaultContextGlobals();
  const { previousOwners } = plan;
  const encoder = new Encoder(
    new Set(plan.entries.keys()),
    plan.entries.values(),
    { ...options, contextGlobals },
    previousOwners === undefined
      ? undefined
      : (value) => {
          for (const name of previousOwners(value) ?? []) {
            if (!queued.has(name) && plan.entries.has(name)) {
              queued.add(name);
              queue.push(name);
            }
          }
        },
  );
  const names: Slot[] = [];
  const captured: string[] = [];
  const uncaptured: Uncaptured[] = [];
  try {
    for (let i = 0; i < queue.length; i++) {
      const name = queue[i]!;
      const outcome = encoder.encodeName(name, plan.entries.get(name));
      if ("slot" in outcome) {
        names.push(name, outcome.slot);
        captured.push(name);
      } else uncaptured.push({ name, reason: outcome.reason });
    }
    encoder.writeTrees();
  } finally {
    encoder.finish();
  }
  const data = writeCheckpoint({
    kind: plan.kind,
    names,
    nodes: encoder.nodes,
    removed: plan.removed,
    uncaptured,
  });
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  if (data.byteLength > maxBytes) throw tooLarge(data.byteLength, maxBytes, encoder);
  const owners: Array<[WeakKey, OwnerGroup]> = [];
  if (plan.trackOwners) {
    encoder.objects.forEach((object, i) => {
      owners.push([object, encoder.groups.groupOf(encoder.ownerNames[i]!)]);
    });
    for (const [member, owner] of encoder.treeMembers()) {
      owners.push([member, encoder.groups.groupOf(owner)]);
    }
  }
  return { data, names: captured, uncaptured, bytes: data.byteLength, owners };
}

function tooLarge(bytes: number, maxBytes: number, encoder: Encoder): CheckpointError {
  const perName = new Map<string, number>();
  encoder.nodes.forEach((node, i) => {
    const owner = encoder.ownerNames[i]!;
    perName.set(owner, (perName.get(owner) ?? 0) + msgpackEncode(node).byteLength);
  });
  const largest = [...perName]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 5)
    .map(([name, size]) => `${name} (~${formatBytes(size)})`)
    .join(", ");
  return new CheckpointError(
    "CHECKPOINT_TOO_LARGE",
    `checkpoint is ${formatBytes(bytes)}, over the limit of ${formatBytes(maxBytes)}; largest names: ${largest}`,
  );
}

function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${bytes} B`;
}
