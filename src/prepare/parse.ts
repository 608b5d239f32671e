/**
 * Parsing a cell: TypeScript stripping, then acorn as the one real JavaScript parser.
 * Every syntax problem becomes an `ExecutionError` named "SyntaxError" whose 1-based line
 * and column point into the user's original code.
 */
import { type Program, parse } from "acorn";
import { simple } from "acorn-walk";
import { ExecutionError } from "../errors.ts";
import { ACORN_OPTIONS } from "./acorn-options.ts";
import { locateTypeScriptError } from "./locate-ts-error.ts";
import {
  readsAlikeAsJavaScript,
  type StrippedCode,
  stripTypes,
  TypeScriptSyntaxError,
} from "./typescript.ts";

export interface ParsedCell {
  program: Program;
  /** The JavaScript `program` was parsed from (types removed). */
  js: string;
  /** True when offsets in `js` are offsets in the user's code (see typescript.ts). */
  positionsPreserved: boolean;
}

export function parseCell(code: string): ParsedCell {
  if (!startsLikeObjectLiteral(code)) return parseStatements(code);
  const asExpression = parseAsExpression(code);
  if (asExpression) return asExpression;
  try {
    return parseStatements(code);
  } catch (asBlock) {
    throw furthestError(asBlock, objectLiteralError(code));
  }
}

/** Why the cell is not an object literal either, at its position in the user's code. */
function objectLiteralError(code: string): unknown {
  try {
    parseStatements(`(${code}\n)`);
  } catch (error) {
    if (!(error instanceof ExecutionError) || error.line === undefined) return error;
    const message = error.userStack.slice(`${error.errorName}: `.length);
    const end = lineColumn(code, code.length);
    // On the line we added (the closing parenthesis): the user's code ended too early.
    if (error.line > end.line) return syntaxError(message, end.line, end.column, error.cause);
    const column = error.line === 1 ? (error.column ?? 1) - 1 : error.column;
    return syntaxError(message, error.line, column ?? 1, error.cause);
  }
  return undefined;
}

/**
 * Of two readings that both fail, the one that got further is the one the user meant
 * (`{\n a: 1,\n b: 2 3 }` is a broken object on line 3, not a broken block on line 2).
 */
function furthestError(asBlock: unknown, asObject: unknown): unknown {
  if (!(asBlock instanceof ExecutionError) || !(asObject instanceof ExecutionError)) return asBlock;
  const rank = (error: ExecutionError) => [error.line ?? 0, error.column ?? 0] as const;
  const [blockLine, blockColumn] = rank(asBlock);
  const [objectLine, objectColumn] = rank(asObject);
  const objectIsFurther =
    objectLine > blockLine || (objectLine === blockLine && objectColumn > blockColumn);
  return objectIsFurther ? asObject : asBlock;
}

/**
 * Node's REPL reads a cell that starts with `{` and does not end with `;` as an
 * expression when it parses as one (`{ a: 1 }` is an object, `{ let a = 1 }` a block).
 */
function startsLikeObjectLiteral(code: string): boolean {
  return /^\s*\{/.test(code) && !/;\s*$/.test(code);
}

/**
 * The cell wrapped in parentheses, if that is one valid expression; undefined otherwise
 * (then it is a block and errors are reported on the code as written). The newline keeps
 * a trailing `//` comment from swallowing the `)`. Columns on line 1 shift by one.
 */
function parseAsExpression(code: string): ParsedCell | undefined {
  const wrapped = `(${code}\n)`;
  let stripped: ReturnType<typeof withoutTypes>;
  try {
    stripped = withoutTypes(wrapped);
  } catch {
    return undefined;
  }
  const parsed = stripped.program !== undefined ? stripped : tryParse(stripped.code);
  const only = parsed.program?.body.length === 1 ? parsed.program.body[0] : undefined;
  if (parsed.program === undefined || only?.type !== "ExpressionStatement") return undefined;
  checkCellRules(parsed.program, stripped.code);
  return {
    program: parsed.program,
    js: stripped.code,
    positionsPreserved: stripped.positionsPreserved,
  };
}

/**
 * The cell's JavaScript: the code itself when it parses as JavaScript that TypeScript
 * reads alike (no stripping needed), else what the stripper makes of it.
 */
function withoutTypes(code: string): StrippedCode & { program?: Program } {
  if (readsAlikeAsJavaScript(code)) {
    const { program } = tryParse(withoutHashbang(code));
    if (program !== undefined) return { code, positionsPreserved: true, program };
  }
  return stripTypes(code);
}

function parseStatements(code: string): ParsedCell {
  let stripped: ReturnType<typeof withoutTypes>;
  try {
    stripped = withoutTypes(code);
  } catch (error) {
    if (!(error instanceof TypeScriptSyntaxError)) throw error;
    // TypeScript is always strict; sloppy-only JavaScript (`with`, legacy octals) is
    // rejected by it but is a valid cell.
    const asJavaScript = tryParse(code);
    if (asJavaScript.program) {
      const js = withoutHashbang(code);
      checkCellRules(asJavaScript.program, js);
      return { program: asJavaScript.program, js, positionsPreserved: true };
    }
    const where = locateTypeScriptError(code);
    // Plain JavaScript with a mistake: acorn's own message and exact column are better,
    // unless acorn merely stumbled on a type annotation or type arguments (`:` / `<`).
    const jsError = asJavaScript.error;
    if (jsError instanceof SyntaxError && "loc" in jsError && isPosition(jsError.loc)) {
      const stumbledOnType = "pos" in jsError && /[:<]/.test(code.charAt(Number(jsError.pos)));
      if (jsError.loc.line === where.line && !stumbledOnType) throw fromAcornError(jsError);
    }
    throw syntaxError(error.message, where.line, where.column, error);
  }
  const js = withoutHashbang(stripped.code);
  const program = stripped.program ?? parsedOrThrow(js);
  checkCellRules(program, js);
  return { program, js, positionsPreserved: stripped.positionsPreserved };
}

function parsedOrThrow(js: string): Program {
  const parsed = tryParse(js);
  if (!parsed.program) throw fromAcornError(parsed.error);
  return parsed.program;
}

/**
 * A `#!` line is only legal at offset 0, where a rewrite may put wrapper text; as a `//`
 * comment of the same length it changes no position.
 */
function withoutHashbang(js: string): string {
  return js.startsWith("#!") ? `//${js.slice(2)}` : js;
}

type ParseAttempt =
  | { program: Program; error?: undefined }
  | { program?: undefined; error: unknown };

export function tryParse(js: string): ParseAttempt {
  try {
    return { program: parse(js, ACORN_OPTIONS) };
  } catch (error) {
    return { error };
  }
}

/** Where a cell may not use module syntax, with messages that say what to do instead. */
function checkCellRules(program: Program, js: string): void {
  const topLevel = new Set<unknown>(program.body);
  const fail = (message: string, offset: number): never => {
    const { line, column } = lineColumn(js, offset);
    throw syntaxError(message, line, column);
  };
  simple(program, {
    ImportDeclaration(node) {
      if (!topLevel.has(node))
        fail("import declarations may only appear at the top level of a cell", node.start);
    },
    ExportNamedDeclaration(node) {
      fail(
        "'export' is not supported in a cell: top-level declarations already persist",
        node.start,
      );
    },
    ExportDefaultDeclaration(node) {
      fail(
        "'export' is not supported in a cell: top-level declarations already persist",
        node.start,
      );
    },
    ExportAllDeclaration(node) {
      fail(
        "'export' is not supported in a cell: top-level declarations already persist",
        node.start,
      );
    },
    MetaProperty(node) {
      if (node.meta.name === "import")
        fail("'import.meta' is not available in a cell (cells are scripts)", node.start);
    },
  });
}

function fromAcornError(error: unknown): ExecutionError {
  if (error instanceof SyntaxError && "loc" in error && isPosition(error.loc)) {
    // acorn appends " (line:column)" to its messages; we report the position as fields.
    const message = error.message.replace(/ \(\d+:\d+\)$/, "");
    return syntaxError(message, error.loc.line, error.loc.column + 1, error);
  }
  throw error;
}

function isPosition(value: unknown): value is { line: number; column: number } {
  return typeof value === "object" && value !== null && "line" in value && "column" in value;
}

function syntaxError(
  message: string,
  line: number,
  column: number,
  cause?: unknown,
): ExecutionError {
  return new ExecutionError({ errorName: "SyntaxError", message, line, column }, { cause });
}

/** 1-based line and column of `offset` in `text`, counting lines the way acorn does. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  const newline = /\r\n?|[\n\u2028\u2029]/g;
  for (let match = newline.exec(text); match && match.index < offset; match = newline.exec(text)) {
    line += 1;
    lineStart = match.index + match[0].length;
  }
  return { line, column: offset - lineStart + 1 };
}
