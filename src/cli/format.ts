/**
 * Human and JSON renderings of what the CLI prints: cell results, errors, and the
 * store's views (`ls`, `show`, `tree`). Human output is for people (aligned, colored on
 * a TTY); JSON output is a stable shape for scripts.
 */
import { stripVTControlCharacters } from "node:util";
import type { Listing, ShowView, TreeNode } from "../../durable/index.ts";
import { ExecutionError, isCapsuleError } from "../errors.ts";
import type { OutputChunk } from "../session/index.ts";
import { type Style, styleState } from "./terminal.ts";

/** JSON text of `value`; BigInts become strings (JSON has no integer type for them). */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === "bigint" ? v.toString() : v), 2);
}

/** A cell's result as the REPL prints it: nothing for `undefined`. */
export function resultText(result: { display: string; hasValue: boolean }): string | undefined {
  return result.display === "undefined" ? undefined : result.display;
}

export interface ErrorJson {
  code: string;
  name: string;
  message: string;
  errorName?: string;
  line?: number;
  column?: number;
  stack?: string;
}

export function errorJson(error: unknown): ErrorJson {
  if (error instanceof ExecutionError) {
    return {
      code: error.code,
      name: error.name,
      message: error.message,
      errorName: error.errorName,
      ...(error.line === undefined ? {} : { line: error.line }),
      ...(error.column === undefined ? {} : { column: error.column }),
      stack: error.userStack,
    };
  }
  if (isCapsuleError(error)) return { code: error.code, name: error.name, message: error.message };
  const plain = error instanceof Error ? error : new Error(String(error));
  return { code: "INTERNAL", name: plain.name, message: plain.message };
}

/**
 * One line for stderr; with `verbose`, the user's stack (for a failed cell) or the
 * full stack and causes (for a Capsule failure) follow.
 */
export function errorText(error: unknown, verbose: boolean): string {
  const message = error instanceof Error ? error.message : String(error);
  const line = message.split("\n")[0] ?? message;
  if (!verbose) return line;
  if (error instanceof ExecutionError) return `${line}\n${error.userStack}`;
  const parts = [error instanceof Error ? (error.stack ?? line) : line];
  let cause = error instanceof Error ? error.cause : undefined;
  while (cause !== undefined) {
    parts.push(
      `caused by: ${cause instanceof Error ? (cause.stack ?? cause.message) : String(cause)}`,
    );
    cause = cause instanceof Error ? cause.cause : undefined;
  }
  return parts.join("\n");
}

function time(ms: number): string {
  return new Date(ms).toISOString().replace("T", " ").slice(0, 19);
}

function table(rows: string[][], style: Style): string[] {
  const plainWidth = (text: string) => stripVTControlCharacters(text).length;
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, plainWidth(cell));
    });
  }
  return rows.map((row, r) => {
    const line = row
      .map((cell, i) =>
        i === row.length - 1 ? cell : cell + " ".repeat((widths[i] ?? 0) - plainWidth(cell)),
      )
      .join("  ");
    return r === 0 ? style.bold(line) : line;
  });
}

export function formatListing(listing: Listing, style: Style): string {
  const lines: string[] = [];
  if (listing.executions.length === 0) lines.push("executions: none");
  else {
    lines.push("executions:");
    const rows = [["ID", "FUNCTION", "STATE", "CREATED"]];
    for (const e of listing.executions) {
      rows.push([e.id, e.func, styleState(style, e.state), time(e.createdAt)]);
    }
    lines.push(...table(rows, style).map((l) => `  ${l}`));
  }
  if (listing.sessions.length === 0) lines.push("sessions: none");
  else {
    lines.push("sessions:");
    const rows = [["NAME", "CELLS", "LAST CELL", "UPDATED"]];
    for (const s of listing.sessions) {
      rows.push([s.name, String(s.cells), styleState(style, s.state), time(s.updatedAt)]);
    }
    lines.push(...table(rows, style).map((l) => `  ${l}`));
  }
  return lines.join("\n");
}

function indent(text: string, prefix: string): string[] {
  const trimmed = text.endsWith("\n") ? text.slice(0, -1) : text;
  return trimmed.split("\n").map((line) => `${prefix}${line}`);
}

function outputLines(output: OutputChunk[], style: Style): string[] {
  const lines: string[] = [];
  // Consecutive chunks of one stream are joined so a line split across writes reads whole.
  let current: { stream: string; text: string } | undefined;
  const flush = () => {
    if (current === undefined) return;
    const label = current.stream === "stderr" ? style.red("err| ") : style.dim("out| ");
    lines.push(...indent(current.text, `    ${label}`));
    current = undefined;
  };
  for (const chunk of output) {
    if (current !== undefined && current.stream !== chunk.stream) flush();
    current ??= { stream: chunk.stream, text: "" };
    current.text += chunk.data;
  }
  flush();
  return lines;
}

export function formatShow(view: ShowView, style: Style): string {
  const lines = [`${style.bold(view.id)} (${view.kind}) ${styleState(style, view.state)}`];
  view.cells.forEach((cell, i) => {
    lines.push("");
    lines.push(
      `  [${i + 1}] ${cell.id} ${styleState(style, cell.state)} ${style.dim(`session ${cell.session}`)}`,
    );
    if (cell.code !== undefined) lines.push(...indent(cell.code, `    ${style.cyan("in | ")}`));
    lines.push(...outputLines(cell.output, style));
    if (cell.result !== undefined) {
      lines.push(`    ${style.green("=> ")} ${cell.result.display}`);
    }
    if (cell.error !== undefined) {
      lines.push(`    ${style.red("!! ")} ${cell.error.code}: ${cell.error.message}`);
    }
  });
  if (view.value !== undefined) {
    lines.push("", `value: ${toJson(view.value)}`);
  }
  return lines.join("\n");
}

export function formatTree(root: TreeNode, style: Style): string {
  const lines: string[] = [];
  const visit = (node: TreeNode, prefix: string, branch: string) => {
    lines.push(
      `${prefix}${branch}${node.id} ${style.dim(node.label)} ${styleState(style, node.state)}`,
    );
    const childPrefix = prefix + (branch === "├── " ? "│   " : branch === "" ? "" : "    ");
    node.children.forEach((child, i) => {
      visit(child, childPrefix, i === node.children.length - 1 ? "└── " : "├── ");
    });
  };
  visit(root, "", "");
  return lines.join("\n");
}
