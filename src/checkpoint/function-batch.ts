/**
 * Restoring functions without a captured scope in one evaluation: compiling one script
 * per function (a `vm.Script` each) dominates restoring a namespace of many small
 * functions, so their sources are wrapped as makers of one array literal, compiled once,
 * like the closures' scope factories (`scope-factories.ts`):
 *
 * ```js
 * [(__capsuleSuperclass) => (function f(x) { return x + 1; }\n), () => ({ m() {}\n})]
 * ```
 *
 * A maker evaluates its function when called, so a class's static initializers still
 * run one function at a time, and one that throws fails only its own node. If the batch
 * does not compile (one source that is not a function expression spoils the whole
 * literal), the caller evaluates each source on its own and the bad one fails alone.
 */
import { SUPERCLASS_PARAM } from "./functions.ts";
import type { Realm } from "./realm.ts";

export type Maker = (superclass?: unknown) => unknown;

/** The makers of `functions` (node index → form and source), or undefined if they do not compile. */
export function batchMakers(
  realm: Realm,
  functions: ReadonlyArray<{ index: number; form: string; source: string }>,
): Map<number, Maker> | undefined {
  if (functions.length < 2) return undefined;
  const parts = functions.map(({ form, source }) =>
    form === "expression" || form === "derived"
      ? `(${SUPERCLASS_PARAM}) => (${source}\n)`
      : `() => ({${source}\n})`,
  );
  let makers: unknown;
  try {
    makers = realm.evaluate(`[${parts.join(",\n")}]`);
  } catch {
    // A SyntaxError (or a source that escaped its maker and threw): the caller evaluates
    // each source on its own, which reports the failing one with its own error.
    return undefined;
  }
  // A source that closes its maker early could shift the list: refuse anything but
  // exactly one function per source, and fall back.
  if (
    !Array.isArray(makers) ||
    makers.length !== functions.length ||
    !makers.every((make) => typeof make === "function")
  ) {
    return undefined;
  }
  return new Map(functions.map(({ index }, k) => [index, makers[k] as Maker]));
}
