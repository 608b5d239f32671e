/**
 * Wire protocol cost: framed + validated encode/decode against plain MessagePack (no
 * framing, no validation) and JSON of the same object, for a small `execute`, a small
 * `output` and a 1 MiB `checkpoint` (JSON carries its data as base64).
 */
import {
  Decoder,
  Encoder,
  decode as msgpackDecode,
  encode as msgpackEncode,
} from "@msgpack/msgpack";
import type { ByteStream } from "../../src/protocol/byte-stream.ts";
import { ProtocolChannel } from "../../src/protocol/channel.ts";
import { encodeFrame, FrameDecoder } from "../../src/protocol/frame.ts";
import type { Message } from "../../src/protocol/messages.ts";
import { type Measurement, measure, printTable } from "./harness.ts";

/** Plain MessagePack with reused instances, as `frame.ts` does: framing + validation cost is the ratio. */
const BASELINE = "msgpack round trip (raw, reused)";
const rawEncoder = new Encoder({ ignoreUndefined: true });
const rawDecoder = new Decoder();

/** One direction of an in-memory pipe: what `a` writes, `b` receives, synchronously. */
function directLink(): { a: ByteStream; b: ByteStream } {
  const receivers = {
    a: new Set<(chunk: Uint8Array) => void>(),
    b: new Set<(chunk: Uint8Array) => void>(),
  };
  const end = (self: "a" | "b", peer: "a" | "b"): ByteStream =>
    ({
      write: (bytes: Uint8Array) => {
        for (const receive of receivers[peer]) receive(bytes);
      },
      on: (event: string, listener: (chunk: Uint8Array) => void) => {
        if (event === "data") receivers[self].add(listener);
      },
      off: (event: string, listener: (chunk: Uint8Array) => void) => {
        if (event === "data") receivers[self].delete(listener);
      },
      end: () => {},
    }) as ByteStream;
  return { a: end("a", "b"), b: end("b", "a") };
}

/** A sequenced channel pair: the cost of `send` through to the peer's `message` event. */
function channelRoundTrip(message: Message): { run: () => void; close: () => void } {
  const link = directLink();
  const sender = new ProtocolChannel(link.a, { heartbeatIntervalMs: 0 });
  const receiver = new ProtocolChannel(link.b, { heartbeatIntervalMs: 0 });
  let delivered = 0;
  receiver.on("message", () => delivered++);
  return {
    run: () => {
      sender.send(message);
      if (delivered === 0) throw new Error("not delivered");
    },
    close: () => {
      sender.close();
      receiver.close();
    },
  };
}

function benchMessage(
  title: string,
  message: Message,
  toJson: (m: Message) => unknown,
  fromJson: (value: unknown) => unknown,
): void {
  const decoder = new FrameDecoder();
  const frame = encodeFrame(message);
  const large = frame.byteLength > 64 * 1024;
  const options = large ? { samples: 60, minBatchMs: 2 } : {};
  const channel = channelRoundTrip(message);
  const rows: Measurement[] = [
    measure("channel send -> message event", channel.run, options),
    measure("frame round trip (validated)", () => decoder.push(encodeFrame(message)), options),
    measure("frame encode", () => encodeFrame(message), options),
    measure("frame decode + validate", () => decoder.push(frame), options),
    measure(BASELINE, () => rawDecoder.decode(rawEncoder.encodeSharedRef(message)), options),
    measure(
      "msgpack round trip (raw, one-shot)",
      () => msgpackDecode(msgpackEncode(message)),
      options,
    ),
    measure(
      "JSON round trip",
      () => fromJson(JSON.parse(JSON.stringify(toJson(message)))),
      options,
    ),
  ];
  channel.close();
  printTable(`${title} — frame ${frame.byteLength} bytes`, rows, BASELINE);
}

export default async function run(): Promise<void> {
  const identity = (value: unknown): unknown => value;
  benchMessage(
    "execute (small)",
    {
      type: "execute",
      id: "exec-42",
      code: "const total = items.reduce((a, b) => a + b, 0);\ntotal",
      mode: "simple_sync",
      timeout_ms: 30_000,
    },
    identity,
    identity,
  );
  benchMessage(
    "output (small)",
    {
      type: "output",
      execution_id: "exec-42",
      stream: "stdout",
      data: "progress: 42% (420/1000 items)\n",
    },
    identity,
    identity,
  );

  const data = new Uint8Array(1024 * 1024);
  for (let i = 0; i < data.length; i++) data[i] = (i * 2_654_435_761) >>> 24;
  benchMessage(
    "checkpoint (1 MiB)",
    {
      type: "checkpoint",
      execution_id: "exec-42",
      version: 1,
      incremental: false,
      data,
      removed: [],
      uncaptured: [],
    },
    // JSON cannot carry bytes: base64 on the way out, decoded back on the way in.
    (m) =>
      m.type === "checkpoint"
        ? {
            ...m,
            data: Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength).toString(
              "base64",
            ),
          }
        : m,
    (value) => {
      const parsed = value as { data: string };
      return { ...parsed, data: new Uint8Array(Buffer.from(parsed.data, "base64")) };
    },
  );
}
