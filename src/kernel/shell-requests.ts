/**
 * The shell requests that only read: completion, inspection, is_complete and
 * kernel_info, as reply contents. Completion and inspection ask the session's worker
 * (an `introspect` request), so the kernel may answer them while a cell runs.
 */
import type { NamedSession } from "../../durable/index.ts";
import { checkCell } from "../cli/cell-input.ts";
import { complete, inspect } from "./introspect.ts";
import { type JsonObject, PROTOCOL_VERSION } from "./wire.ts";

/** The requests `answerReadOnly` answers. */
export const READ_ONLY_REQUESTS: ReadonlySet<string> = new Set([
  "complete_request",
  "inspect_request",
]);

export async function completeReply(
  session: NamedSession,
  content: JsonObject,
): Promise<JsonObject> {
  const code = typeof content.code === "string" ? content.code : "";
  const cursor = codeUnitOffset(code, content.cursor_pos);
  const found = await complete(session, code, cursor);
  return {
    status: "ok",
    matches: found.matches,
    cursor_start: codePointOffset(code, found.start),
    cursor_end: codePointOffset(code, found.end),
    metadata: {},
  };
}

export async function inspectReply(
  session: NamedSession,
  content: JsonObject,
): Promise<JsonObject> {
  const code = typeof content.code === "string" ? content.code : "";
  const found = await inspect(session, code, codeUnitOffset(code, content.cursor_pos));
  return {
    status: "ok",
    found: found.found,
    data: found.found ? { "text/plain": found.text } : {},
    metadata: {},
  };
}

export function isCompleteReply(content: JsonObject): JsonObject {
  const check = checkCell(typeof content.code === "string" ? content.code : "");
  return check.kind === "incomplete"
    ? { status: "incomplete", indent: "" }
    : { status: check.kind };
}

export function kernelInfo(version: string, sessionName: string): JsonObject {
  return {
    status: "ok",
    protocol_version: PROTOCOL_VERSION,
    implementation: "capsule",
    implementation_version: version,
    language_info: {
      name: "typescript",
      version: "5",
      mimetype: "text/typescript",
      file_extension: ".ts",
      pygments_lexer: "typescript",
      codemirror_mode: "typescript",
    },
    banner: `Capsule ${version}: durable TypeScript cells (session ${sessionName})`,
    help_links: [],
    debugger: false,
  };
}

/** Jupyter counts the cursor in Unicode code points; JavaScript strings in UTF-16 units. */
export function codeUnitOffset(code: string, cursor: unknown): number {
  if (typeof cursor !== "number" || !Number.isInteger(cursor) || cursor < 0) return code.length;
  let units = 0;
  let points = 0;
  for (const char of code) {
    if (points === cursor) break;
    units += char.length;
    points++;
  }
  return units;
}

export function codePointOffset(code: string, units: number): number {
  return Array.from(code.slice(0, units)).length;
}
