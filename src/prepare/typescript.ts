/**
 * TypeScript → JavaScript for a cell, via Node's built-in `stripTypeScriptTypes`.
 *
 * "strip" mode blanks types out with whitespace, so every position in the output is the
 * same as in the user's code; that is what keeps syntax-error locations and runtime stack
 * lines exact. Only syntax that needs code generation (enums, namespaces, parameter
 * properties, `<T>x` assertions) falls back to "transform" mode, whose output is
 * re-printed and so may move lines. Node 26 dropped that mode from the built-in, so it
 * comes from `amaro`, the package Node's own type stripper is built from (loaded only
 * when a cell needs it: it is a large WASM module).
 */
import { createRequire, stripTypeScriptTypes } from "node:module";

export interface StrippedCode {
  /** JavaScript to parse and run. */
  code: string;
  /** True when positions in `code` equal positions in the user's code. */
  positionsPreserved: boolean;
}

/** Thrown by {@link stripTypes} for code that is not valid TypeScript. */
export class TypeScriptSyntaxError extends Error {
  override name = "TypeScriptSyntaxError";
}

export function stripTypes(code: string): StrippedCode {
  try {
    return {
      code: quietly(() => stripTypeScriptTypes(code, { mode: "strip" })),
      positionsPreserved: true,
    };
  } catch (error) {
    if (errorCode(error) !== "ERR_UNSUPPORTED_TYPESCRIPT_SYNTAX") throw asSyntaxError(error);
  }
  try {
    return { code: transformTypeScript(code), positionsPreserved: false };
  } catch (error) {
    throw asSyntaxError(error);
  }
}

/**
 * Whether `code`, if it parses as JavaScript, means the same to TypeScript, so stripping
 * types can be skipped (Node's stripper costs ~40 µs of WASM even for `1 + 1`). Valid
 * JavaScript reads differently as TypeScript only where TypeScript sees type arguments in
 * `<…>` (`f<T>(x)` is a chain of comparisons to JavaScript) or a declaration keyword
 * before a line break (`declare\nlet x` is two statements to JavaScript, an ambient
 * declaration to TypeScript, which strips it). Every other TypeScript form is a
 * JavaScript syntax error, which sends the cell through the stripper as before; a form
 * the stripper rejects is read as JavaScript anyway (see parse.ts). Checked against the
 * stripper: all 9,774 JavaScript files of node_modules strip to themselves (once, by
 * hand), and test/prepare/typescript-skip.test.ts keeps checking the keyword-before-
 * line-break forms and a sample of those files. `abstract`, `enum` and `interface` are
 * listed from caution: the stripper rejects their JavaScript-valid forms. Lexical: the
 * characters or words count anywhere, in strings and comments too.
 */
export function readsAlikeAsJavaScript(code: string): boolean {
  return !TYPESCRIPT_ONLY_READING.test(code);
}

const TYPESCRIPT_ONLY_READING = /<|\b(?:declare|namespace|global|abstract|enum|interface)\b/;

type Amaro = { transformSync(code: string, options: { mode: "transform" }): { code: string } };
let amaro: Amaro | undefined;

function transformTypeScript(code: string): string {
  amaro ??= createRequire(import.meta.url)("amaro") as Amaro;
  return amaro.transformSync(code, { mode: "transform" }).code;
}

/**
 * Runs `fn` with Node's one-time "stripTypeScriptTypes is an experimental feature"
 * warning filtered out. The filter wraps `process.emitWarning` only for the duration of
 * this synchronous call and forwards every other warning unchanged, so process-wide
 * `warning` listeners (and `--no-warnings` etc.) keep working exactly as configured.
 */
function quietly<T>(fn: () => T): T {
  const original = process.emitWarning;
  const filtered = function (this: unknown, warning: string | Error, ...rest: unknown[]): void {
    if (isStripExperimentalWarning(warning, rest[0])) return;
    Reflect.apply(original, process, [warning, ...rest]);
  };
  process.emitWarning = filtered as typeof process.emitWarning;
  try {
    return fn();
  } finally {
    // Only restore if nobody replaced our filter meanwhile (fn is synchronous, so no one can).
    if (process.emitWarning === filtered) process.emitWarning = original;
  }
}

function isStripExperimentalWarning(warning: string | Error, typeOrOptions: unknown): boolean {
  const message = typeof warning === "string" ? warning : warning.message;
  const type =
    typeof typeOrOptions === "string"
      ? typeOrOptions
      : typeof typeOrOptions === "object" && typeOrOptions !== null && "type" in typeOrOptions
        ? String(typeOrOptions.type)
        : typeof warning === "string"
          ? undefined
          : warning.name;
  return type === "ExperimentalWarning" && message.includes("stripTypeScriptTypes");
}

function errorCode(error: unknown): unknown {
  return typeof error === "object" && error !== null && "code" in error ? error.code : undefined;
}

function asSyntaxError(error: unknown): TypeScriptSyntaxError {
  const message = error instanceof Error ? error.message : String(error);
  return new TypeScriptSyntaxError(message, { cause: error });
}
