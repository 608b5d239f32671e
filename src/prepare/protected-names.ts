/**
 * Names a cell may not declare or assign at its top level: Capsule provides them in every
 * session (`input`, `display`, `require`, `console`) and later the pool's capabilities.
 *
 * Why an error and not shadowing: the worker defines these as non-writable,
 * non-configurable globals, so a declaration would otherwise be silently ignored (or
 * throw at run time half-way through the cell). A user who writes `const input = ...`
 * means their own value; quietly keeping Capsule's would be wrong, and shadowing would
 * make later cells' `input()` (a durable promise under `ctx.session`) depend on which cell
 * ran last. Refusing the cell before it runs is what a notebook user can act on.
 */
import { ExecutionError } from "../errors.ts";
import { lineColumn } from "./parse.ts";
import type { ScopeAnalysis } from "./scope.ts";

export { DEFAULT_PROTECTED_NAMES } from "./default-protected-names.ts";

/**
 * @throws ExecutionError (code EXECUTION_PROTECTED_NAME, errorName SyntaxError, the
 *   position of the first offending declaration or assignment) when the cell declares a
 *   protected name at its top level or assigns the global one anywhere. Local bindings
 *   (`function f(console) {}`, `{ let input = 1 }`) shadow legitimately and are allowed.
 */
export function checkProtectedNames(
  js: string,
  scopes: ScopeAnalysis,
  protectedNames: readonly string[],
): void {
  if (protectedNames.length === 0) return;
  const names = new Set(protectedNames);
  let first: { name: string; offset: number; verb: string } | undefined;
  const consider = (name: string, offset: number, verb: string) => {
    if (names.has(name) && (first === undefined || offset < first.offset))
      first = { name, offset, verb };
  };
  for (const [name, offset] of scopes.declaredAt) consider(name, offset, "declared");
  for (const [name, offset] of scopes.assignedAt) consider(name, offset, "assigned");
  if (first === undefined) return;
  const { line, column } = lineColumn(js, first.offset);
  throw new ExecutionError({
    errorName: "SyntaxError",
    code: "EXECUTION_PROTECTED_NAME",
    message:
      `'${first.name}' is provided by Capsule and cannot be ${first.verb} in a cell ` +
      `(protected: ${[...names].join(", ")}); use another name`,
    line,
    column,
  });
}
