/** Two channels joined by an in-memory link, with a fake clock and recorded events. */
import type { ProtocolError } from "../../src/errors.ts";
import { type ChannelOptions, ProtocolChannel } from "../../src/protocol/channel.ts";
import type { Message } from "../../src/protocol/messages.ts";
import { FakeClock } from "./fake-clock.ts";
import { createMemoryLink, type MemoryLink } from "./memory-link.ts";

export interface Recorder {
  messages: Message[];
  errors: ProtocolError[];
  dead: ProtocolError[];
  closed: number;
}

export function record(channel: ProtocolChannel): Recorder {
  const recorder: Recorder = { messages: [], errors: [], dead: [], closed: 0 };
  channel.on("message", (message) => recorder.messages.push(message));
  channel.on("error", (error) => recorder.errors.push(error));
  channel.on("dead", (error) => recorder.dead.push(error));
  channel.on("close", () => recorder.closed++);
  return recorder;
}

export interface ChannelPair {
  clock: FakeClock;
  link: MemoryLink;
  a: ProtocolChannel;
  b: ProtocolChannel;
  aEvents: Recorder;
  bEvents: Recorder;
  close(): void;
}

const FIXED_STATS = { memory_usage: 1_000_000, cpu_percent: 1, namespace_size: 2 };

export function channelPair(
  options: ChannelOptions = {},
  bOptions: ChannelOptions = options,
): ChannelPair {
  const clock = new FakeClock();
  const link = createMemoryLink();
  const a = new ProtocolChannel(link.a, { heartbeatFields: () => FIXED_STATS, ...options, clock });
  const b = new ProtocolChannel(link.b, { heartbeatFields: () => FIXED_STATS, ...bOptions, clock });
  return {
    clock,
    link,
    a,
    b,
    aEvents: record(a),
    bEvents: record(b),
    close() {
      a.close();
      b.close();
    },
  };
}

/** A small application message with a recognizable id. */
export function cancel(index: number): Message {
  return { type: "cancel", execution_id: `exec-${index}` };
}

export function ids(messages: Message[]): string[] {
  return messages.map((message) =>
    "execution_id" in message ? String(message.execution_id) : message.type,
  );
}
