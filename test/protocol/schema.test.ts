/** Values that decode as MessagePack but break the message schema are rejected clearly. */
import { encode as msgpackEncode } from "@msgpack/msgpack";
import { describe, expect, it } from "vitest";
import { ProtocolError } from "../../src/errors.ts";
import { FrameDecoder } from "../../src/protocol/frame.ts";
import { SAMPLES } from "./samples.ts";

function frameOf(value: unknown): Uint8Array {
  const payload = msgpackEncode(value);
  const frame = new Uint8Array(4 + payload.byteLength);
  new DataView(frame.buffer).setUint32(0, payload.byteLength);
  frame.set(payload, 4);
  return frame;
}

function rejection(value: unknown): ProtocolError {
  try {
    new FrameDecoder().push(frameOf(value));
  } catch (error) {
    if (error instanceof ProtocolError) return error;
    throw error;
  }
  throw new Error(`accepted ${JSON.stringify(value)}`);
}

function without<T extends object>(object: T, key: keyof T): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...(object as Record<string, unknown>) };
  delete copy[key as string];
  return copy;
}

describe("message schema at the boundary", () => {
  it("requires result.execution_time", () => {
    const error = rejection(without(SAMPLES.result, "execution_time"));
    expect(error.code).toBe("PROTOCOL_INVALID_MESSAGE");
    expect(error.message).toContain('"result"');
    expect(error.message).toContain("execution_time");
  });

  it.each(["memory_usage", "cpu_percent", "namespace_size"] as const)(
    "requires heartbeat.%s",
    (field) => {
      const error = rejection(without(SAMPLES.heartbeat, field));
      expect(error.code).toBe("PROTOCOL_INVALID_MESSAGE");
      expect(error.message).toContain(field);
    },
  );

  it.each(["version", "incremental", "data", "removed", "uncaptured"] as const)(
    "requires checkpoint.%s",
    (field) => {
      const error = rejection(without(SAMPLES.checkpoint, field));
      expect(error.code).toBe("PROTOCOL_INVALID_MESSAGE");
      expect(error.message).toContain(field);
    },
  );

  it("rejects wrong types", () => {
    const cases: [unknown, string][] = [
      [{ ...SAMPLES.heartbeat, memory_usage: "lots" }, "memory_usage"],
      [{ ...SAMPLES.checkpoint, data: "AAEC" }, "data"],
      [{ ...SAMPLES.execute, code: 42 }, "code"],
      [{ ...SAMPLES.output, stream: "stdlog" }, "stream"],
      [{ ...SAMPLES.result, execution_time: -1 }, "execution_time"],
      [{ ...SAMPLES.cancel, seq: -3 }, "seq"],
      [{ ...SAMPLES.resend_request, from: 1.5 }, "from"],
    ];
    for (const [value, field] of cases) {
      const error = rejection(value);
      expect(error.code).toBe("PROTOCOL_INVALID_MESSAGE");
      expect(error.message).toContain(field);
    }
  });

  it("rejects an unknown or missing type", () => {
    const unknown = rejection({ type: "execute_now", id: "x" });
    expect(unknown.code).toBe("PROTOCOL_INVALID_MESSAGE");
    expect(unknown.message).toContain('"execute_now"');
    expect(rejection({ id: "x" }).code).toBe("PROTOCOL_INVALID_MESSAGE");
    expect(rejection([1, 2, 3]).code).toBe("PROTOCOL_INVALID_MESSAGE");
    expect(rejection("execute").code).toBe("PROTOCOL_INVALID_MESSAGE");
  });

  it("keeps the zod issue as the cause", () => {
    const error = rejection(without(SAMPLES.result, "execution_time"));
    expect(error.cause).toBeDefined();
  });
});
