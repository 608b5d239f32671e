/**
 * Completion and inspection from a session's live namespace, shared by the kernel and
 * `capsule repl`. The text at the cursor is split here, on the host, into a property
 * path and a partial name; the session's worker answers an `introspect` protocol request
 * from its namespace (workers/introspect.ts): no cell, nothing recorded, no user code
 * run, and answered while a cell awaits.
 */
import type { NamedSession } from "../../durable/index.ts";
import { isCapsuleError } from "../errors.ts";
import type { IntrospectAnswer, IntrospectRequest } from "../session/index.ts";

/**
 * How long completion waits for a worker busy with a blocking cell: a frontend that gets
 * no matches in time is better than one that hangs its editor.
 */
const INTROSPECT_TIMEOUT_MS = 2_000;
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

/** A read that cannot be answered in time (a cell holds the worker) is an empty answer. */
async function ask(session: NamedSession, request: IntrospectRequest): Promise<IntrospectAnswer> {
  try {
    return await session.introspect(request, INTROSPECT_TIMEOUT_MS);
  } catch (error) {
    if (isCapsuleError(error) && error.code === "INTROSPECT_TIMEOUT")
      return { matches: [], found: false, text: "" };
    throw error;
  }
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
  const answer = await ask(session, { kind: "complete", path, prefix });
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
  const answer = await ask(session, { kind: "inspect", path: [...path, prefix], prefix: "" });
  return { found: answer.found, text: answer.text };
}
