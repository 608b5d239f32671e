/**
 * The host treats every frame from a worker as hostile. A cell writes forged bytes into
 * its worker's own frame pipe (fd 3); the cell that did it must fail with
 * `PROTOCOL_VIOLATION` (the precise finding as its cause), the worker must be replaced
 * and restored from its checkpoint, and the next cell must run as if nothing happened.
 */
import { once } from "node:events";
import { describe, expect, it } from "vitest";
import { ProtocolError } from "../../src/errors.ts";
import { encodeFrame } from "../../src/protocol/frame.ts";
import type { Message } from "../../src/protocol/messages.ts";
import type { Session } from "../../src/session/session.ts";
import { waitForPidsGone } from "../support/processes.ts";
import { startSession } from "./helpers.ts";

/**
 * A cell that writes `bytes` to the worker's frame pipe, between the worker's own frames.
 * `writeSync` makes it a blocking cell; after an `await` it runs on the event loop, where
 * the host does not judge the worker by its silence.
 */
function writeToFramePipe(bytes: Uint8Array, path: "blocking" | "event loop" = "blocking"): string {
  const write = `require("node:fs").writeSync(3, Buffer.from([${[...bytes].join(",")}])); "written"`;
  return path === "blocking" ? write : `await null; ${write}`;
}

const frame = (message: Message) => encodeFrame(message);

/** Runs `cell` on a session holding `kept`; returns its error and checks the aftermath. */
async function injectAndRecover(
  session: Session,
  cell: string,
): Promise<{ error: ProtocolError; cause: string | undefined }> {
  await session.execute("const kept = { n: 41 }; kept.n++");
  const pid = session.pid;
  if (pid === undefined) throw new Error("no worker");
  const exited = once(session, "worker-exit");
  const error = await session.execute(cell).then(
    (result) => {
      throw new Error(`the forging cell succeeded with ${String(result.value)}`);
    },
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(ProtocolError);
  const violation = error as ProtocolError;
  expect(violation.code).toBe("PROTOCOL_VIOLATION");
  expect(violation.retryable).toBe(false);
  await exited;
  // In a sandbox the worker follows bubblewrap out (--die-with-parent) a moment later.
  expect(await waitForPidsGone([pid])).toEqual([]);
  // The next cell is not blamed, and sees the namespace as of the last good cell.
  expect((await session.execute("kept.n")).value).toBe(42);
  expect(session.pid).not.toBe(pid);
  const cause = violation.cause instanceof ProtocolError ? violation.cause.code : undefined;
  return { error: violation, cause };
}

describe("a worker that breaks the wire protocol", () => {
  it("undecodable MessagePack: the cell fails with PROTOCOL_VIOLATION caused by PROTOCOL_MALFORMED_FRAME", async () => {
    const session = await startSession();
    const garbage = new Uint8Array([0, 0, 0, 6, 0xc1, 0xc1, 0xc1, 0xc1, 0xc1, 0xc1]);
    const { error, cause } = await injectAndRecover(session, writeToFramePipe(garbage));
    expect(cause).toBe("PROTOCOL_MALFORMED_FRAME");
    expect(error.message).toMatch(/corrupt/);
  });

  it("a length over the frame limit: PROTOCOL_VIOLATION caused by PROTOCOL_FRAME_TOO_LARGE", async () => {
    const session = await startSession();
    const header = new Uint8Array([0x7f, 0xff, 0xff, 0xff, 1, 2, 3]);
    const { cause } = await injectAndRecover(session, writeToFramePipe(header));
    expect(cause).toBe("PROTOCOL_FRAME_TOO_LARGE");
  });

  it("a valid frame that is no valid message: caused by PROTOCOL_INVALID_MESSAGE", async () => {
    const session = await startSession();
    // MessagePack {type: "result"} without any of a result's fields.
    const payload = [0x81, 0xa4, ...Buffer.from("type"), 0xa6, ...Buffer.from("result")];
    const bytes = new Uint8Array([0, 0, 0, payload.length, ...payload]);
    const { cause } = await injectAndRecover(session, writeToFramePipe(bytes));
    expect(cause).toBe("PROTOCOL_INVALID_MESSAGE");
  });

  it("a truncated frame that swallows the worker's own frames is a violation, not a timeout", async () => {
    // The header announces 100 bytes and 2 follow: the worker's result and heartbeats
    // complete the frame, which then cannot decode.
    const session = await startSession({ heartbeatMs: 100 });
    const { cause } = await injectAndRecover(
      session,
      writeToFramePipe(new Uint8Array([0, 0, 0, 100, 0x81, 0xa4])),
    );
    expect(cause).toMatch(/^PROTOCOL_(MALFORMED_FRAME|INVALID_MESSAGE)$/);
  });

  for (const path of ["blocking", "event loop"] as const) {
    it(`a frame that never ends (a large forged length, ${path} cell) is found by a test request, not the cell's deadline`, async () => {
      // A grace a loaded machine can keep (a late answer would be a dead peer instead),
      // and a deadline the finding must come far before.
      const session = await startSession({
        heartbeatMs: 200,
        graceMs: 1_000,
        limits: { timeoutMs: 600_000 },
      });
      const { error } = await injectAndRecover(
        session,
        writeToFramePipe(new Uint8Array([0, 0x10, 0, 0, 0x81]), path),
      );
      expect(error.message).toMatch(/without completing a frame/);
    });
  }

  it("a sequence number far ahead (1e9) is a violation at once, and the next cell is not stalled", async () => {
    const session = await startSession();
    const forged = frame({
      type: "heartbeat",
      seq: 1e9,
      memory_usage: 1,
      cpu_percent: 0,
      namespace_size: 0,
    });
    const { error } = await injectAndRecover(session, writeToFramePipe(forged));
    expect(error.message).toMatch(/sequence number 1000000000/);
  });

  it("a replayed (too low) sequence number is a violation: a pipe neither loses nor repeats", async () => {
    const session = await startSession();
    const replay = frame({ type: "ready", seq: 1, pid: 1, protocol_version: 1 });
    const { error } = await injectAndRecover(session, writeToFramePipe(replay));
    expect(error.message).toMatch(/ordered stream/);
  });

  it("a frame without a sequence number is a violation on a pipe", async () => {
    const session = await startSession();
    const unsequenced = frame({ type: "ready", pid: 1, protocol_version: 1 });
    const { error } = await injectAndRecover(session, writeToFramePipe(unsequenced));
    expect(error.message).toMatch(/without a sequence number/);
  });
});

describe("a well-sequenced frame that cannot be true", () => {
  // Without heartbeats a worker's frames are countable: `ready` is 1, the result of the
  // first cell 2, so a frame the second cell forges with seq 3 is taken as the worker's.
  const countable = { heartbeatMs: 0 };
  const NEXT_SEQ = 3;

  it("a second `ready` after start", async () => {
    const session = await startSession(countable);
    const forged = frame({ type: "ready", seq: NEXT_SEQ, pid: 1, protocol_version: 1 });
    const { error } = await injectAndRecover(session, writeToFramePipe(forged));
    expect(error.message).toMatch(/second `ready`/);
  });

  it("a result for an execution nobody asked for", async () => {
    const session = await startSession(countable);
    const forged = frame({
      type: "result",
      seq: NEXT_SEQ,
      execution_id: "nobody-asked",
      has_value: true,
      value: 1,
      display: "1",
      mode: "simple_sync",
      execution_time: 0,
    });
    const { error } = await injectAndRecover(session, writeToFramePipe(forged));
    expect(error.message).toMatch(/"nobody-asked", which no request is waiting for/);
  });

  it("a heartbeat with an impossible resident size", async () => {
    const session = await startSession(countable);
    const forged = frame({
      type: "heartbeat",
      seq: NEXT_SEQ,
      memory_usage: 2 ** 60,
      cpu_percent: 0,
      namespace_size: 0,
    });
    const { error } = await injectAndRecover(session, writeToFramePipe(forged));
    expect(error.message).toMatch(/memory_usage/);
  });

  it("a heartbeat answering a test request never sent", async () => {
    const session = await startSession(countable);
    const forged = frame({
      type: "heartbeat",
      seq: NEXT_SEQ,
      memory_usage: 1024,
      cpu_percent: 0,
      namespace_size: 0,
      test_id: "77",
    });
    const { error } = await injectAndRecover(session, writeToFramePipe(forged));
    expect(error.message).toMatch(/test request "77", never sent/);
  });

  it("a resend request for frames the host never sent", async () => {
    const session = await startSession(countable);
    const forged = frame({ type: "resend_request", seq: NEXT_SEQ, from: 1, to: 1e6 });
    const { error } = await injectAndRecover(session, writeToFramePipe(forged));
    expect(error.message).toMatch(/asked to resend frames 1\.\.1000000/);
  });
});
