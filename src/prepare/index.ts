/**
 * Cell preparation: the host parses each cell, detects its execution mode and rewrites it
 * into JavaScript that a worker runs as ONE classic `vm.Script` in the session's context
 * (whose global object is the namespace), compiled with
 * `importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER`.
 *
 * Semantics (a notebook kernel's, like Node's REPL):
 * - TypeScript is accepted: types are stripped in place (positions preserved); enums,
 *   namespaces and parameter properties use Node's transform mode, which may move lines.
 * - Top-level `var`/`let`/`const`/`function`/`class`/destructuring/`import` bindings
 *   persist as properties of the global object across cells; names declared in blocks,
 *   loops and functions do not. `const`/`let`/`class` are re-declarable by a later cell
 *   (re-running a cell works) and `const` is NOT enforced, neither across cells nor
 *   inside one; there is no temporal dead zone at the top level.
 * - The result is the value of the last top-level statement if it is an expression
 *   statement, otherwise undefined (`1; 2` → 2, `1; const x = 2` → undefined); trailing
 *   empty statements do not count (`1;;;` → 1). A cell that starts with `{`, does not
 *   end with `;` and parses as an expression is one (`{ a: 1 }` is an object), as in
 *   Node's REPL; otherwise it is a block.
 * - Declaring a protected name (`input`, `display`, `require`, `console`, capabilities)
 *   at the top level, or assigning one, is refused before the cell runs.
 * - A cell with top-level `await`, `for await` or an import declaration runs inside an
 *   async arrow whose promise resolves to the result or rejects with the user's error.
 *   Imports are `await import(...)` snapshots taken in place (not hoisted, not live). In
 *   such a cell a top-level function is published when the cell starts, except one the
 *   cell also reassigns or redeclares: that one is assigned where it is declared.
 * - The prepared source has exactly the user's line breaks: runtime stack lines are the
 *   user's lines (columns may shift on a line that gained wrapper text). Exception: a
 *   TypeScript cell that needs transform mode (enum, namespace, parameter property).
 * - Syntax errors carry the user's line and column. For errors only TypeScript's parser
 *   sees (Node's stripper reports no position) the line is found by stripping prefixes of
 *   the cell and the column is a best effort (acorn's, or the line's first token).
 * - `free` includes built-in globals (`console`, `Math`, `undefined`); names only used in
 *   TypeScript types are not listed. Sloppy-mode Annex B semantics are the engine's: a
 *   function declared in a block of a sync cell still becomes global at run time.
 *
 * The prepared source relies on nothing but standard globals and `import()`; it defines
 * no helper names (no `__capsule_*`).
 */
import { ExecutionError } from "../errors.ts";
import type { ExecutionMode } from "../protocol/messages.ts";
import { modeOf, shapeOf } from "./detect.ts";
import { type CellImport, describeImport } from "./imports.ts";
import { parseCell } from "./parse.ts";
import { checkProtectedNames, DEFAULT_PROTECTED_NAMES } from "./protected-names.ts";
import { rewriteAsync, rewriteSync } from "./rewrite.ts";
import { analyzeScopes } from "./scope.ts";

export type { CellImport } from "./imports.ts";
export { DEFAULT_PROTECTED_NAMES } from "./protected-names.ts";

export interface PreparedCell {
  /** The detected mode, or the forced one. */
  mode: ExecutionMode;
  /**
   * JavaScript to run as ONE classic vm.Script in the session context. When `async` is
   * true its completion value is a Promise of the cell's value; otherwise the completion
   * value IS the cell's value (the worker awaits it if it is a thenable and reports mode
   * async_def).
   */
  source: string;
  /** True when `source` is wrapped in an async function (top-level await or imports). */
  async: boolean;
  /** Top-level names the cell declares; they persist in the namespace. */
  declared: string[];
  /** Identifiers the cell reads or writes without declaring them (globals / namespace). */
  free: string[];
  /** The subset of `free` the cell assigns anywhere (`x = ..`, `x++`, destructuring targets). */
  assigned: string[];
  /** The cell's import bindings (side-effect-only imports bind nothing and are not listed). */
  imports: CellImport[];
  /** Straight-line code with no loop or call of its own (see `CellShape.bounded`). */
  bounded: boolean;
}

export interface PrepareOptions {
  /** Force this mode instead of detecting it (the source is prepared the same way). */
  mode?: ExecutionMode;
  /**
   * Names the cell may not declare at its top level or assign (Capsule's own globals and
   * the pool's capabilities). Default {@link DEFAULT_PROTECTED_NAMES}.
   */
  protectedNames?: readonly string[];
}

/**
 * Parses, analyses and rewrites one cell.
 * @throws ExecutionError (errorName "SyntaxError", code EXECUTION_SYNTAX_ERROR) with the
 *   1-based line and column in `code` when the cell does not parse, uses `return`,
 *   `export` or `import.meta` at the top level, or nests an import declaration; with
 *   code EXECUTION_PROTECTED_NAME when it declares or assigns a protected name.
 */
export function prepareCell(code: string, options: PrepareOptions = {}): PreparedCell {
  try {
    return prepareParsed(code, options);
  } catch (error) {
    // The parser and the walkers recurse per nesting level; a cell nested deeper than the
    // stack allows is the cell's problem, reported like a syntax error, not a crash.
    if (error instanceof RangeError && /call stack/i.test(error.message)) {
      throw new ExecutionError(
        { errorName: "SyntaxError", message: "the cell is nested too deeply to prepare" },
        { cause: error },
      );
    }
    throw error;
  }
}

function prepareParsed(code: string, options: PrepareOptions): PreparedCell {
  const { program, js, positionsPreserved } = parseCell(code);
  const scopes = analyzeScopes(program);
  checkProtectedNames(js, scopes, options.protectedNames ?? DEFAULT_PROTECTED_NAMES);
  const shape = shapeOf(program, new Set(scopes.free), positionsPreserved);
  const async = shape.topLevelAwait;
  const imports: CellImport[] = [];
  for (const statement of program.body) {
    if (statement.type === "ImportDeclaration") imports.push(...describeImport(statement));
  }
  return {
    mode: options.mode ?? modeOf(shape),
    source: async
      ? rewriteAsync(program, js, scopes, positionsPreserved)
      : rewriteSync(program, js, positionsPreserved),
    async,
    declared: scopes.declared,
    free: scopes.free,
    assigned: scopes.assigned,
    imports,
    bounded: shape.bounded,
  };
}

/**
 * The execution mode a cell would be routed to, without preparing it.
 * @throws ExecutionError as {@link prepareCell} for a cell that does not parse.
 */
export function detectMode(code: string): ExecutionMode {
  const { program, positionsPreserved } = parseCell(code);
  const scopes = analyzeScopes(program);
  return modeOf(shapeOf(program, new Set(scopes.free), positionsPreserved));
}
