/**
 * Test helpers for sessions: every session a test opens is closed after it, so no
 * worker process outlives its test.
 */
import { afterEach } from "vitest";
import type { OutputChunk, SessionOptions } from "../../src/session/options.ts";
import { Session } from "../../src/session/session.ts";

const open = new Set<Session>();

afterEach(async () => {
  const sessions = [...open];
  open.clear();
  await Promise.all(sessions.map((session) => session.close()));
});

/** A started session that is closed after the current test. */
export async function startSession(options: SessionOptions = {}): Promise<Session> {
  const session = new Session(options);
  open.add(session);
  await session.start();
  return session;
}

/** Collects a cell's output in order. */
export function collectOutput(): {
  chunks: OutputChunk[];
  onOutput: (chunk: OutputChunk) => void;
  text(): string;
} {
  const chunks: OutputChunk[] = [];
  return {
    chunks,
    onOutput: (chunk) => chunks.push(chunk),
    text: () => chunks.map((chunk) => chunk.data).join(""),
  };
}

export { processExists } from "../support/processes.ts";
