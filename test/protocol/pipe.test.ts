/** The channel over a real pipe to a child Node process (fd 3). */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { type ByteStream, joinStreams } from "../../src/protocol/byte-stream.ts";
import { ProtocolChannel } from "../../src/protocol/channel.ts";
import type { Heartbeat, Message } from "../../src/protocol/messages.ts";
import { PROTOCOL_VERSION } from "../../src/protocol/messages.ts";
import { ALL_SAMPLES, SAMPLES } from "./samples.ts";

const FIXTURE = new URL("./fixtures/echo-peer.ts", import.meta.url).pathname;

let child: ChildProcess | undefined;
let channel: ProtocolChannel | undefined;
let channelErrors: Error[] = [];

afterEach(async () => {
  channel?.close();
  channel = undefined;
  const running = child;
  child = undefined;
  if (running !== undefined && running.exitCode === null && running.signalCode === null) {
    const exited = once(running, "exit");
    running.kill("SIGKILL");
    await exited;
  }
});

function startEcho(env: Record<string, string> = {}): {
  channel: ProtocolChannel;
  messages: AsyncIterator<Message>;
  stderr: () => string;
} {
  const overStdio = env.ECHO_STDIO === "1";
  child = spawn(process.execPath, [FIXTURE], {
    stdio: overStdio ? ["pipe", "pipe", "pipe"] : ["ignore", "inherit", "pipe", "pipe"],
    env: { ...process.env, ...env },
  });
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (text: string) => {
    stderr += text;
  });
  let stream: ByteStream;
  if (overStdio) {
    stream = joinStreams(child.stdout!, child.stdin!);
  } else {
    const socket = child.stdio[3];
    if (!(socket instanceof Socket)) throw new Error("fd 3 is not a socket");
    stream = socket;
  }
  channel = new ProtocolChannel(stream, { heartbeatIntervalMs: 0 });
  channelErrors = [];
  channel.on("error", (error) => channelErrors.push(error));
  return {
    channel,
    messages: queueOf(channel)[Symbol.asyncIterator](),
    stderr: () => stderr,
  };
}

/** Delivered messages as an async sequence, so a test awaits the next one. */
function queueOf(source: ProtocolChannel): AsyncIterable<Message> {
  const buffered: Message[] = [];
  let wake: (() => void) | undefined;
  source.on("message", (message) => {
    buffered.push(message);
    wake?.();
  });
  return {
    async *[Symbol.asyncIterator]() {
      for (;;) {
        while (buffered.length > 0) yield buffered.shift()!;
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = undefined;
      }
    },
  };
}

async function next(messages: AsyncIterator<Message>): Promise<Message> {
  const result = await messages.next();
  if (result.done) throw new Error("message stream ended");
  return result.value;
}

function withoutSeq(message: Message): Message {
  const { seq: _seq, ...rest } = message;
  return rest as Message;
}

describe("ProtocolChannel over a child process pipe", () => {
  it("round-trips every message kind, a 1 MiB checkpoint included, then shuts down", async () => {
    const echo = startEcho();
    const ready = await next(echo.messages);
    expect(ready).toMatchObject({ type: "ready", seq: 1, protocol_version: PROTOCOL_VERSION });
    expect(ready.type === "ready" && ready.pid).toBe(child?.pid);

    const data = new Uint8Array(1024 * 1024);
    for (let i = 0; i < data.length; i++) data[i] = (i * 31 + 7) & 0xff;
    const sent: Message[] = [
      ...ALL_SAMPLES.filter(
        (m) => !["heartbeat", "test_request", "resend_request", "shutdown"].includes(m.type),
      ),
      { ...SAMPLES.checkpoint, data },
    ];
    for (const message of sent) echo.channel.send(message);
    const echoed: Message[] = [];
    for (const _ of sent) echoed.push(await next(echo.messages));
    expect(echoed.map(withoutSeq)).toEqual(sent);
    expect(echoed.map((m) => m.seq)).toEqual(sent.map((_, i) => i + 2));
    expect(echo.channel.stats.duplicatesDropped).toBe(0);

    const exited = once(child!, "exit");
    const closed = once(echo.channel, "close");
    echo.channel.send({ type: "shutdown", reason: "test done" });
    await closed;
    const [code] = await exited;
    expect(code).toBe(0);
    expect(echo.stderr()).toBe("");
    expect(channelErrors).toEqual([]);
  });

  it("works over the child's stdin/stdout joined into one stream", async () => {
    const echo = startEcho({ ECHO_STDIO: "1" });
    expect(await next(echo.messages)).toMatchObject({ type: "ready", seq: 1 });
    echo.channel.send(SAMPLES.result);
    expect(withoutSeq(await next(echo.messages))).toEqual(SAMPLES.result);
    const exited = once(child!, "exit");
    echo.channel.send({ type: "shutdown" });
    await once(echo.channel, "close");
    expect((await exited)[0]).toBe(0);
    expect(echo.stderr()).toBe("");
    expect(channelErrors).toEqual([]);
  });

  it("receives idle heartbeats from the child with its real memory use", async () => {
    const echo = startEcho({ ECHO_HEARTBEAT_MS: "20" });
    const [heartbeat] = (await once(echo.channel, "heartbeat")) as [Heartbeat];
    expect(heartbeat.memory_usage).toBeGreaterThan(1024 * 1024);
    expect(heartbeat.seq).toBeGreaterThanOrEqual(2); // after `ready`
  });
});
