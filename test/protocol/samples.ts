/**
 * One valid sample of every wire message kind, for round-trip tests here and for
 * anyone else who needs a well-formed message of a given type.
 */
import type { MessageOf, MessageType } from "../../src/protocol/messages.ts";
import { PROTOCOL_VERSION } from "../../src/protocol/messages.ts";

export const SAMPLES: { readonly [K in MessageType]: MessageOf<K> } = {
  execute: {
    type: "execute",
    id: "exec-1",
    code: "const x = 1 + 1;\nx",
    mode: "simple_sync",
    timeout_ms: 30_000,
    checkpoint: true,
  },
  output: { type: "output", execution_id: "exec-1", stream: "stdout", data: "hello ✓\n" },
  display: {
    type: "display",
    execution_id: "exec-1",
    action: "display",
    data: { "text/plain": "Chart", "text/html": "<b>chart</b>", "application/json": { n: 1 } },
    display_id: "chart-1",
  },
  input: { type: "input", id: "in-1", execution_id: "exec-1", prompt: "name? " },
  input_response: { type: "input_response", input_id: "in-1", value: "Ada" },
  capability_call: {
    type: "capability_call",
    id: "cap-1",
    execution_id: "exec-1",
    name: "notify",
    args: ["ops", { level: 2, tags: ["a"] }],
  },
  capability_result: { type: "capability_result", call_id: "cap-1", value: { sent: true } },
  result: {
    type: "result",
    execution_id: "exec-1",
    value: { answer: 42, list: [1, "two", null], nested: { ok: true } },
    has_value: true,
    display: "{ answer: 42 }",
    mode: "simple_sync",
    execution_time: 1.25,
  },
  error: {
    type: "error",
    execution_id: "exec-1",
    code: "EXECUTION_ERROR",
    name: "TypeError",
    message: "x is not a function",
    stack: "TypeError: x is not a function\n    at cell:1:1",
    line: 1,
    column: 1,
    mode: "simple_sync",
  },
  checkpoint: {
    type: "checkpoint",
    execution_id: "exec-1",
    version: 1,
    incremental: true,
    data: new Uint8Array([0, 1, 2, 253, 254, 255]),
    removed: ["old"],
    uncaptured: [{ name: "socket", reason: "native handle" }],
  },
  introspect: { type: "introspect", id: "intro-1", kind: "complete", path: ["Math"], prefix: "P" },
  introspection: { type: "introspection", id: "intro-1", matches: ["PI"], found: false, text: "" },
  checkpoint_request: { type: "checkpoint_request", id: "cp-1" },
  restore: { type: "restore", id: "restore-1", version: 1, chain: [new Uint8Array([9, 8, 7])] },
  reset: { type: "reset", id: "reset-1" },
  restored: {
    type: "restored",
    id: "restore-1",
    names: ["x", "f"],
    failed: [{ name: "g", reason: "source unavailable" }],
  },
  cancel: { type: "cancel", execution_id: "exec-1" },
  heartbeat: { type: "heartbeat", memory_usage: 52_428_800, cpu_percent: 3.5, namespace_size: 4 },
  ready: { type: "ready", pid: 4242, protocol_version: PROTOCOL_VERSION },
  shutdown: { type: "shutdown", reason: "pool closing" },
  resend_request: { type: "resend_request", from: 3, to: 5 },
  test_request: { type: "test_request", test_id: "t-1" },
};

/** Every sample, in a fixed order. */
export const ALL_SAMPLES = Object.values(SAMPLES);
