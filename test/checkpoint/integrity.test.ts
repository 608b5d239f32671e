/**
 * A damaged checkpoint is refused with a coded error, never restored into a namespace
 * that differs from the one captured (before the checksum, 9 of 64 corrupted checkpoints
 * restored wrong: an empty namespace, a variable renamed `when` → `whun`).
 */
import * as path from "node:path";
import vm from "node:vm";
import { encode } from "@msgpack/msgpack";
import { describe, expect, it } from "vitest";
import {
  CHECKPOINT_VERSION,
  decodeNamespace,
  encodeNamespace,
} from "../../src/checkpoint/index.ts";
import { CheckpointError } from "../../src/errors.ts";
import { mulberry32 as seeded } from "../protocol/prng.ts";
import { startSession } from "../session/helpers.ts";
import { namespaceOf } from "./helpers.ts";

/** Magic (4 bytes) and version (2): damage there reads as "not this format". */
const HEADER_IDENTITY_BYTES = 6;

/** A real checkpoint of a namespace with data, functions, classes and module references. */
function realCheckpoint(): Uint8Array {
  const ns = namespaceOf(`
    var when = new Date(86400000);
    var names = ["ada", "grace", "barbara"];
    var scores = new Map([["ada", 3], ["grace", 5]]);
    var tags = new Set(["x", "y"]);
    var big = 2n ** 64n;
    var bytes = new Uint8Array([1, 2, 3, 250]);
    var nested = { deep: { deeper: { value: -0, text: "when" } } };
    nested.self = nested;
    function scale(x) { return x * 2 }
    var Point = class Point { constructor(x) { this.x = x } norm() { return Math.abs(this.x) } };
    var origin = new Point(-4);
  `);
  const entries: Array<[string, unknown]> = [
    ...ns.entries,
    ["join", path.join],
    ["pathModule", path],
  ];
  const modules = new Map<unknown, { specifier: string; export?: string; via?: "require" }>([
    [path, { specifier: "node:path", via: "require" }],
    [path.join, { specifier: "node:path", export: "join" }],
  ]);
  const encoded = encodeNamespace(entries, { moduleOf: (value) => modules.get(value) });
  expect(encoded.uncaptured).toEqual([]);
  return encoded.data;
}

/** What a corrupted decode does: resolve (a silent wrong restore) or reject with a code. */
async function decodeOutcome(data: Uint8Array): Promise<{ code: string } | { restored: true }> {
  try {
    await decodeNamespace(data, vm.createContext(), {
      loadModule: async (specifier) => import(specifier),
    });
    return { restored: true };
  } catch (error) {
    if (!(error instanceof CheckpointError)) throw error;
    return { code: error.code };
  }
}

function expectedCode(position: number): string {
  return position < HEADER_IDENTITY_BYTES ? "CHECKPOINT_VERSION" : "CHECKPOINT_CORRUPT";
}

describe("checkpoint integrity: a CRC-32 over the envelope, checked before decoding", () => {
  it("the intact checkpoint restores (so the failures below are the corruption's)", async () => {
    const data = realCheckpoint();
    const context = vm.createContext();
    const { values, failed } = await decodeNamespace(data, context, {
      loadModule: async (specifier) => import(specifier),
    });
    expect(failed).toEqual([]);
    expect([...values.keys()]).toContain("when");
    expect((values.get("when") as Date).getTime()).toBe(86400000);
    expect((values.get("join") as typeof path.join)("a", "b")).toBe(path.join("a", "b"));
  });

  it("refuses a flip of any single byte, at every position of a real checkpoint", async () => {
    const data = realCheckpoint();
    const random = seeded(0x5eed_0001);
    const outcomes = new Map<string, number>();
    for (let position = 0; position < data.byteLength; position++) {
      const damaged = data.slice();
      // Any non-zero mask: one to eight flipped bits in this byte.
      damaged[position]! ^= 1 + Math.floor(random() * 255);
      const outcome = await decodeOutcome(damaged);
      expect(outcome, `byte ${position} of ${data.byteLength}`).toEqual({
        code: expectedCode(position),
      });
      const key = "code" in outcome ? outcome.code : "restored";
      outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
    }
    expect(data.byteLength).toBeGreaterThan(256);
    expect(outcomes.get("restored")).toBeUndefined();
  });

  it("refuses 256 seeded multi-byte corruptions, truncations and extensions", async () => {
    const data = realCheckpoint();
    const seed = 0x5eed_0002;
    const random = seeded(seed);
    const pick = (n: number) => Math.floor(random() * n);
    for (let trial = 0; trial < 256; trial++) {
      let damaged: Uint8Array;
      let lowest: number;
      switch (trial % 4) {
        case 0:
        case 1: {
          // 2 to 16 damaged bytes anywhere after the header identity.
          damaged = data.slice();
          lowest = data.byteLength;
          const count = 2 + pick(15);
          for (let i = 0; i < count; i++) {
            const position = HEADER_IDENTITY_BYTES + pick(data.byteLength - HEADER_IDENTITY_BYTES);
            damaged[position]! ^= 1 + pick(255);
            lowest = Math.min(lowest, position);
          }
          break;
        }
        case 2: {
          // Cut off anywhere, down to the bare header.
          lowest = HEADER_IDENTITY_BYTES + pick(data.byteLength - HEADER_IDENTITY_BYTES);
          damaged = data.slice(0, lowest);
          break;
        }
        default: {
          // Extra bytes after the payload (a wrong slice of a larger buffer).
          lowest = data.byteLength;
          damaged = new Uint8Array(data.byteLength + 1 + pick(32));
          damaged.set(data);
          for (let i = data.byteLength; i < damaged.byteLength; i++) damaged[i] = pick(256);
        }
      }
      expect(await decodeOutcome(damaged), `seed ${seed}, trial ${trial}`).toEqual({
        code: expectedCode(lowest),
      });
    }
  });

  it("refuses a checkpoint of the previous format version with CHECKPOINT_VERSION", async () => {
    // Version 1: magic, version, then the payload with no checksum.
    const payload = encode({
      kind: "full",
      names: ["a", 1],
      nodes: [],
      removed: [],
      uncaptured: [],
    });
    const v1 = new Uint8Array(6 + payload.byteLength);
    v1.set([0x43, 0x50, 0x43, 0x4b, 0, 1]);
    v1.set(payload, 6);
    const error = await decodeNamespace(v1, vm.createContext()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CheckpointError);
    expect((error as CheckpointError).code).toBe("CHECKPOINT_VERSION");
    expect((error as CheckpointError).message).toBe(
      `checkpoint version 1 is not supported (this build reads versions 2 to ${CHECKPOINT_VERSION})`,
    );
  });

  it("a session refuses 64 corrupted checkpoints with CHECKPOINT_CORRUPT and loses nothing", async () => {
    const source = await startSession();
    await source.execute(`
      const when = new Date(0); const names = ["ada", "grace"];
      const { join } = require("node:path"); function twice(x) { return 2 * x }
    `);
    const checkpoint = await source.checkpoint();
    const data = checkpoint.chain[0]!;
    expect(checkpoint.chain).toHaveLength(1);

    const target = await startSession();
    await target.execute("const kept = 'mine'");
    const seed = 0x5eed_0003;
    const random = seeded(seed);
    for (let trial = 0; trial < 64; trial++) {
      const damaged = data.slice();
      const position =
        HEADER_IDENTITY_BYTES + Math.floor(random() * (data.byteLength - HEADER_IDENTITY_BYTES));
      damaged[position]! ^= 1 + Math.floor(random() * 255);
      const error = await target
        .restore({ ...checkpoint, chain: [damaged] })
        .catch((e: unknown) => e);
      expect(error, `seed ${seed}, trial ${trial}, byte ${position}`).toBeInstanceOf(
        CheckpointError,
      );
      expect((error as CheckpointError).code).toBe("CHECKPOINT_CORRUPT");
    }
    // Nothing of the damaged checkpoints reached the namespace; the session still works,
    // and the intact checkpoint restores.
    expect((await target.execute("[kept, typeof when, typeof twice]")).value).toEqual([
      "mine",
      "undefined",
      "undefined",
    ]);
    const report = await target.restore(checkpoint);
    expect(report.failed).toEqual([]);
    expect(
      (await target.execute("[kept, when.getTime(), names[1], join('a', 'b'), twice(4)]")).value,
    ).toEqual(["mine", 0, "grace", path.join("a", "b"), 8]);
  });
});
