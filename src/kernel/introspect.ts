/**
 * Completion and inspection from a session's live namespace, shared by the kernel and
 * `capsule repl`. The text at the cursor is split here, on the host, into a property
 * path and a partial name; the session then runs `namespaceProbe` as a peek (an
 * unrecorded internal cell, see NamedSession.peek) and prints its answer as one marked
 * line of JSON. The peek's value is `_` itself, so the last result stays what it was.
 */
import { randomUUID } from "node:crypto";
import type { NamedSession } from "../../durable/index.ts";
import { namespaceProbe, type ProbeAnswer, type ProbeRequest } from "./namespace-probe.ts";

/** A peek is a quick read: it must not hold the session for long. */
const PROBE_TIMEOUT_MS = 5_000;
const IDENTIFIER = /[A-Za-z_$][\w$]*$/;
const PATH = /((?:[A-Za-z_$][\w$]*\s*\??\.\s*)*)([A-Za-z_$][\w$]*)?$/;

export interface Completion {
  matches: string[];
  /** Offsets (UTF-16, in the code given) of the text the matches replace. */
  start: number;
  end: number;
}

export interface Inspection {
  found: boolean;
  text: string;
}

/** The dotted path and partial name that end at `cursor`. */
export function pathAt(
  code: string,
  cursor: number,
): { path: string[]; prefix: string; start: number } {
  const before = code.slice(0, cursor);
  const match = PATH.exec(before);
  const prefix = match?.[2] ?? "";
  const dotted = match?.[1] ?? "";
  // A property path must start a name: `1.to` or `"a".len` are not global paths.
  const lead = before.slice(0, before.length - (match?.[0].length ?? 0));
  if (dotted !== "" && /[\w$\])"'`.]$/.test(lead)) return { path: [], prefix: "", start: cursor };
  const path = dotted
    .split(".")
    .map((part) => part.replace(/[\s?]/g, ""))
    .filter((part) => part !== "");
  return { path, prefix, start: cursor - prefix.length };
}

async function probe(session: NamedSession, request: ProbeRequest): Promise<ProbeAnswer> {
  const marker = `\u0000capsule-probe-${randomUUID()}:`;
  const code =
    `(() => { const answer = (${namespaceProbe.toString()})(${JSON.stringify(request)});` +
    ` console.log(${JSON.stringify(marker)} + JSON.stringify(answer)); })(),` +
    ` (typeof _ === "undefined" ? undefined : _)`;
  let printed = "";
  await session.peek(code, {
    mode: "simple_sync",
    timeoutMs: PROBE_TIMEOUT_MS,
    onOutput: (chunk) => {
      if (chunk.stream === "stdout") printed += chunk.data;
    },
  });
  const line = printed.split("\n").find((text) => text.startsWith(marker));
  if (line === undefined) return { matches: [], found: false, text: "" };
  return JSON.parse(line.slice(marker.length)) as ProbeAnswer;
}

/** Names from the live namespace that complete the text before `cursor`. */
export async function complete(
  session: NamedSession,
  code: string,
  cursor: number,
): Promise<Completion> {
  const { path, prefix, start } = pathAt(code, cursor);
  if (path.length === 0 && prefix === "" && !/\.\s*$/.test(code.slice(0, cursor))) {
    return { matches: [], start: cursor, end: cursor };
  }
  const answer = await probe(session, { kind: "complete", path, prefix });
  return { matches: answer.matches, start, end: cursor };
}

/** What the name at `cursor` (the whole word around it) holds in the live namespace. */
export async function inspect(
  session: NamedSession,
  code: string,
  cursor: number,
): Promise<Inspection> {
  const rest = /^[\w$]*/.exec(code.slice(cursor))?.[0] ?? "";
  const end = cursor + rest.length;
  const { path, prefix } = pathAt(code, end);
  if (!IDENTIFIER.test(prefix)) return { found: false, text: "" };
  const answer = await probe(session, { kind: "inspect", path: [...path, prefix], prefix: "" });
  return { found: answer.found, text: answer.text };
}
