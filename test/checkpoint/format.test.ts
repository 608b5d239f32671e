import vm from "node:vm";
import { encode } from "@msgpack/msgpack";
import { describe, expect, it } from "vitest";
import { sealCheckpoint } from "../../src/checkpoint/format.ts";
import {
  CHECKPOINT_VERSION,
  decodeNamespace,
  encodeNamespace,
} from "../../src/checkpoint/index.ts";
import { CheckpointError } from "../../src/errors.ts";
import { namespaceOf, restoreInto } from "./helpers.ts";

async function decodeError(data: Uint8Array): Promise<CheckpointError> {
  try {
    await decodeNamespace(data, vm.createContext());
  } catch (error) {
    expect(error).toBeInstanceOf(CheckpointError);
    return error as CheckpointError;
  }
  throw new Error("decode did not fail");
}

function withHeader(payload: unknown, version = CHECKPOINT_VERSION): Uint8Array {
  return sealCheckpoint(encode(payload), version);
}

describe("checkpoint format: size bound, version and malformed data", () => {
  it("stores array buffer bytes as binary, not as a list of numbers", () => {
    const ns = namespaceOf("var bytes = new Uint8Array(100000).fill(255);");
    const encoded = encodeNamespace(ns.entries);
    expect(encoded.bytes).toBe(encoded.data.byteLength);
    expect(encoded.bytes).toBeLessThan(100_200);
  });

  it("gives every checkpoint bytes of its own (the MessagePack encoder is reused)", async () => {
    const first = encodeNamespace(namespaceOf(`var a = "first"; var n = [1, 2];`).entries);
    const copy = first.data.slice();
    const second = encodeNamespace(namespaceOf(`var b = "second"; var m = { x: 1 };`).entries);
    expect(first.data).toEqual(copy);
    expect(first.data.buffer).not.toBe(second.data.buffer);
    expect((await restoreInto(first.data)).run("a + n.join()")).toBe("first1,2");
    expect((await restoreInto(second.data)).run("b + m.x")).toBe("second1");
  });

  it("refuses a checkpoint over maxBytes and names the largest names", () => {
    const ns = namespaceOf(`
      var big = new Float64Array(50000); var medium = "x".repeat(20000); var small = 1;
    `);
    let thrown: unknown;
    try {
      encodeNamespace(ns.entries, { maxBytes: 64 * 1024 });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(CheckpointError);
    const error = thrown as CheckpointError;
    expect(error.code).toBe("CHECKPOINT_TOO_LARGE");
    expect(error.message).toMatch(
      /over the limit of 64\.0 KiB; largest names: big \(~390\.\d KiB\)/,
    );
    expect(encodeNamespace(ns.entries, { maxBytes: 1024 * 1024 }).names).toEqual([
      "big",
      "medium",
      "small",
    ]);
  });

  it("rejects foreign bytes and other versions with CHECKPOINT_VERSION", async () => {
    expect((await decodeError(new TextEncoder().encode('{"json":1}'))).code).toBe(
      "CHECKPOINT_VERSION",
    );
    const future = await decodeError(withHeader({}, CHECKPOINT_VERSION + 1));
    expect(future.code).toBe("CHECKPOINT_VERSION");
    expect(future.message).toContain(`version ${CHECKPOINT_VERSION + 1} is not supported`);
  });

  it("rejects malformed payloads with CHECKPOINT_INVALID", async () => {
    const valid = encodeNamespace(namespaceOf("var a = { b: [1, 2] };").entries).data;
    const truncated = valid.subarray(0, valid.byteLength - 3);
    // A cut-off checkpoint fails its checksum before its shape is even looked at.
    expect((await decodeError(truncated)).code).toBe("CHECKPOINT_CORRUPT");
    const cases: Uint8Array[] = [
      withHeader("not a map"),
      withHeader({ kind: "full", names: ["a"], nodes: [], removed: [], uncaptured: [] }),
      withHeader({ kind: "full", names: ["a", [0, 5]], nodes: [], removed: [], uncaptured: [] }),
      withHeader({
        kind: "full",
        names: ["a", [0, 0]],
        nodes: [["Z"]],
        removed: [],
        uncaptured: [],
      }),
      withHeader({ kind: "full", names: ["a", [99]], nodes: [], removed: [], uncaptured: [] }),
      withHeader({
        kind: "full",
        names: ["a", [0, 0]],
        nodes: [["O", 0, [1, 2]]],
        removed: [],
        uncaptured: [],
      }),
    ];
    for (const data of cases) expect((await decodeError(data)).code).toBe("CHECKPOINT_INVALID");
  });

  it("fails only the names whose function cannot be evaluated in the target", async () => {
    const payload = {
      kind: "full",
      names: ["broken", [0, 0], "holder", [0, 1], "fine", 1],
      nodes: [
        ["F", "expression", "function (", null, [], [], null, 0],
        ["O", 0, ["f", [0, 0], 7]],
      ],
      removed: [],
      uncaptured: [],
    };
    const restored = await restoreInto(withHeader(payload));
    expect(restored.values.get("fine")).toBe(1);
    expect(restored.failed.map((f) => f.name).sort()).toEqual(["broken", "holder"]);
    expect(restored.failed[0]!.reason).toMatch(/^could not re-create function: /);
  });
});
