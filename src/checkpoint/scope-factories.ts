/**
 * Restoring closures: every captured scope node becomes a *factory* — a function that
 * declares the scope's variables and re-creates, from their source, the closures created
 * in it — so the restored closures close over real shared variables again. A nested
 * scope's factory is declared inside its parent's, so the lexical chain is the same as
 * the original; siblings sharing a parent call the parent's factory once.
 *
 * ```js
 * function __capsuleScope3() {
 *   let n;
 *   return {
 *     set(__capsuleValues) { [n] = __capsuleValues; },    // filled once every value exists
 *     make: [(__capsuleSuperclass) => (() => ++n\n), (__capsuleSuperclass) => (() => n\n)],
 *     children: [],
 *   };
 * }
 * ```
 */
import type { SourceForm } from "./functions.ts";
import { SUPERCLASS_PARAM } from "./functions.ts";
import { expect } from "./validate.ts";

/** One instantiated scope of the target context. */
export interface ScopeInstance {
  set(values: unknown[]): void;
  /** Per function created in the scope: evaluates it there (members return their holder). */
  make: Array<(superclass?: unknown) => unknown>;
  children: Array<() => ScopeInstance>;
}

export interface ScopePlan {
  variables: string[];
  /** The functions created directly in this scope, in `make` order. */
  functions: Array<{ form: SourceForm; source: string }>;
  /** Child scope node indices, in `children` order. */
  children: number[];
}

const IDENTIFIER = /^[\p{ID_Start}$_][\p{ID_Continue}$\u200c\u200d]*$/u;
const RESERVED = new Set(
  (
    "break case catch class const continue debugger default delete do else enum export " +
    "extends false finally for function if import in instanceof new null return super " +
    "switch this throw true try typeof var void while with let static yield implements " +
    "interface package private protected public await arguments eval"
  ).split(" "),
);

/** Whether `name` can be declared with `let` in a factory (checked: names come from data). */
export function isDeclarableName(name: string): boolean {
  return IDENTIFIER.test(name) && !RESERVED.has(name) && !name.startsWith("__capsule");
}

/** The source of the factory of scope node `root` (its children nested inside). */
export function factorySource(root: number, plans: ReadonlyMap<number, ScopePlan>): string {
  const plan = plans.get(root);
  expect(plan !== undefined, "a scope refers to a missing scope");
  for (const name of plan.variables) {
    expect(isDeclarableName(name), `scope variable ${JSON.stringify(name)} is not an identifier`);
  }
  const names = plan.variables.join(", ");
  const make = plan.functions.map(({ form, source }) =>
    form === "expression" || form === "derived"
      ? `(${SUPERCLASS_PARAM}) => (${source}\n)`
      : `() => ({${source}\n})`,
  );
  return [
    `function __capsuleScope${root}() {`,
    names === "" ? "" : `let ${names};`,
    "return {",
    `set(__capsuleValues) { ${names === "" ? "" : `[${names}] = __capsuleValues;`} },`,
    `make: [${make.join(",\n")}],`,
    `children: [${plan.children.map((child) => `__capsuleScope${child}`).join(", ")}],`,
    "};",
    ...plan.children.map((child) => factorySource(child, plans)),
    "}",
  ].join("\n");
}
