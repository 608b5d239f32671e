/**
 * Incremental checkpoints: after a small cell, send only the names that changed.
 *
 * Identity rule: two names that reach a common object must come from the same
 * checkpoint, or restoring them from different ones would split that object in two.
 * The checkpointer remembers, for every object of the previous encodes, the group of
 * names that shared it (`groups.ts`). When an incremental encode reaches such an object
 * it also re-encodes every name of that group, until no new names are pulled in. The
 * caller must list as changed every name it assigned *or mutated* (a cell that does
 * `a.push(1)` changed `a`); unchanged names are not read. Names uncaptured by the
 * previous checkpoint are retried every time: a function that read a name defined only by
 * a later cell (`closes over local variable "g"`) becomes capturable once `g` exists.
 */
import type vm from "node:vm";
import { CheckpointError } from "../errors.ts";
import type { DecodedNamespace, DecodeOptions } from "./decode.ts";
import { decodePayload } from "./decode.ts";
import { type EncodedNamespace, type EncodeOptions, runEncode } from "./encode.ts";
import { readCheckpoint } from "./format.ts";
import type { OwnerGroup } from "./groups.ts";

export interface IncrementalCheckpoint extends EncodedNamespace {
  incremental: true;
  /** Names re-encoded although not listed as changed, to keep shared objects whole. */
  widenedBy: string[];
  removed: string[];
}

/** Stateful encoder for one namespace: a full checkpoint, then increments. */
export class NamespaceCheckpointer {
  private owners = new WeakMap<WeakKey, OwnerGroup>();
  private hasFull = false;
  /** Names uncaptured last time: retried in every increment (a function may have read a
   * name that a later cell defines; an opaque value may have been replaced in place). */
  private uncaptured = new Set<string>();

  private readonly options: EncodeOptions;

  constructor(options: EncodeOptions = {}) {
    this.options = options;
  }

  /** Encodes every name; the next increment is relative to this. */
  full(entries: Iterable<[string, unknown]>): EncodedNamespace {
    const map = new Map(entries);
    const run = runEncode(
      { kind: "full", entries: map, encode: [...map.keys()], removed: [], trackOwners: true },
      this.options,
    );
    this.owners = new WeakMap();
    this.remember(run.owners);
    this.hasFull = true;
    this.uncaptured = new Set(run.uncaptured.map((entry) => entry.name));
    return { data: run.data, names: run.names, uncaptured: run.uncaptured, bytes: run.bytes };
  }

  /**
   * Encodes the changed names (plus the names sharing objects with them) and lists the
   * removed ones. `entries` is the whole current namespace.
   */
  incremental(
    entries: Iterable<[string, unknown]>,
    changedNames: Iterable<string>,
    removed: Iterable<string>,
  ): IncrementalCheckpoint {
    if (!this.hasFull) {
      throw new CheckpointError(
        "CHECKPOINT_INVALID",
        "an incremental checkpoint needs a full one first",
      );
    }
    const map = new Map(entries);
    const changed = [...new Set([...changedNames, ...this.uncaptured])].filter((name) =>
      map.has(name),
    );
    const removedList = [...new Set(removed)].filter((name) => !map.has(name));
    const run = runEncode(
      {
        kind: "incremental",
        entries: map,
        encode: changed,
        removed: removedList,
        previousOwners: (value) => this.owners.get(value)?.names,
        trackOwners: true,
      },
      this.options,
    );
    this.remember(run.owners);
    for (const name of [...changed, ...removedList]) this.uncaptured.delete(name);
    for (const entry of run.uncaptured) this.uncaptured.add(entry.name);
    const changedSet = new Set(changed);
    return {
      data: run.data,
      names: run.names,
      uncaptured: run.uncaptured,
      bytes: run.bytes,
      incremental: true,
      widenedBy: [...run.names, ...run.uncaptured.map((u) => u.name)].filter(
        (n) => !changedSet.has(n),
      ),
      removed: removedList,
    };
  }

  private remember(owners: Array<[WeakKey, OwnerGroup]>): void {
    for (const [object, group] of owners) this.owners.set(object, group);
  }
}

/**
 * Restores a full checkpoint followed by increments, in order: later names win, removed
 * names disappear, and a name captured later clears its earlier failure.
 */
export async function applyCheckpoints(
  chain: readonly Uint8Array[],
  context: vm.Context,
  options: DecodeOptions = {},
): Promise<DecodedNamespace> {
  const values = new Map<string, unknown>();
  const failed = new Map<string, string>();
  for (const [position, data] of chain.entries()) {
    const payload = readCheckpoint(data);
    if ((position === 0) !== (payload.kind === "full")) {
      throw new CheckpointError(
        "CHECKPOINT_INVALID",
        position === 0
          ? "a checkpoint chain must start with a full checkpoint"
          : `checkpoint ${position} of the chain is full; only the first may be`,
      );
    }
    const decoded = await decodePayload(payload, context, options);
    for (const name of payload.removed) {
      values.delete(name);
      failed.delete(name);
    }
    for (const entry of decoded.failed) {
      values.delete(entry.name);
      failed.set(entry.name, entry.reason);
    }
    for (const [name, value] of decoded.values) {
      values.set(name, value);
      failed.delete(name);
    }
  }
  return { values, failed: [...failed].map(([name, reason]) => ({ name, reason })) };
}
