/**
 * Node's TypeScript stripper reports *what* is wrong but not *where*. This finds the
 * line (and, when it can, the column) of a TypeScript syntax error by asking the stripper
 * about prefixes of the cell, so the user still gets a position in their own code.
 *
 * Why it works: a parser fails at the first bad token, so every prefix that contains the
 * bad line fails too. Walking back from the end, the first prefix that strips cleanly
 * (after closing its open brackets, which removes most "unexpected end of input"
 * artefacts) ends just before the bad line. The column then comes from acorn, run on the
 * stripped good prefix followed by the raw bad line.
 */
import { stripTypeScriptTypes } from "node:module";
import { parse, tokenizer } from "acorn";
import { ACORN_OPTIONS } from "./acorn-options.ts";

/** Bounds the work on a pathological cell; the error path only, never the happy path. */
const MAX_PREFIXES = 400;

export function locateTypeScriptError(code: string): { line: number; column: number } {
  const lines = code.split(/\r\n?|\n/);
  let badLine = lines.length;
  let cleanPrefix: string | undefined;
  for (let tried = 0; badLine > 1 && tried < MAX_PREFIXES; tried++) {
    const prefix = lines.slice(0, badLine - 1).join("\n");
    const stripped = stripClosed(prefix);
    if (stripped !== undefined) {
      cleanPrefix = stripped.code;
      break;
    }
    badLine -= 1;
  }
  const lineText = lines[badLine - 1] ?? "";
  return { line: badLine, column: columnInLine(cleanPrefix, lineText, badLine) };
}

/**
 * The stripped prefix (without the closers we added), or undefined if it does not parse.
 * A prefix that only needs transform mode (an enum, a namespace) is valid TypeScript
 * too, but its strip-mode text is unknown (`code` undefined: no column from acorn).
 */
function stripClosed(prefix: string): { code: string | undefined } | undefined {
  const closers = closingBrackets(prefix);
  if (closers === undefined) return undefined;
  try {
    const code = stripTypeScriptTypes(`${prefix}\n${closers}`, { mode: "strip" });
    return { code: code.slice(0, prefix.length) };
  } catch (error) {
    const unsupported =
      typeof error === "object" &&
      error !== null &&
      "code" in error &&
      error.code === "ERR_UNSUPPORTED_TYPESCRIPT_SYNTAX";
    return unsupported ? { code: undefined } : undefined;
  }
}

function columnInLine(cleanPrefix: string | undefined, lineText: string, line: number): number {
  const firstToken = lineText.search(/\S/) + 1 || 1;
  const probe = cleanPrefix === undefined ? lineText : `${cleanPrefix}\n${lineText}`;
  try {
    parse(probe, ACORN_OPTIONS);
  } catch (error) {
    if (error instanceof SyntaxError && "loc" in error && "pos" in error) {
      const loc = error.loc as { line: number; column: number };
      // A stop at `:` or `<` is acorn meeting a type on the bad line, not the error itself.
      const onType = /[:<]/.test(probe.charAt(Number(error.pos)));
      const probeLine = cleanPrefix === undefined ? 1 : line;
      if (loc.line === probeLine && !onType) return loc.column + 1;
    }
  }
  return firstToken;
}

/** The brackets that close what `text` leaves open, or undefined if it does not tokenize. */
function closingBrackets(text: string): string | undefined {
  const open: string[] = [];
  const pairs: Record<string, string> = { "(": ")", "[": "]", "{": "}", "${": "}" };
  try {
    for (const token of tokenizer(text, ACORN_OPTIONS)) {
      const label = token.type.label;
      const closer = pairs[label];
      if (closer !== undefined) open.push(closer);
      else if (label === ")" || label === "]" || label === "}") open.pop();
    }
  } catch {
    return undefined;
  }
  return open.reverse().join("");
}
