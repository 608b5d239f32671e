/**
 * Decoder phase for closures: instantiates every captured scope node of a node table in
 * the target context (see `scope-factories.ts`) and hands out, per function node created
 * in a scope, the maker that evaluates it there. A scope tree whose factory fails fails
 * the scopes and functions in it, not the whole restore.
 */
import { NodeKind } from "./format.ts";
import type { SourceForm } from "./functions.ts";
import type { Realm } from "./realm.ts";
import {
  factorySource,
  isDeclarableName,
  type ScopeInstance,
  type ScopePlan,
} from "./scope-factories.ts";
import { asArray, asString, expect } from "./validate.ts";

export interface RestoredScopes {
  /** Function node index → evaluates the function inside its restored scope. */
  makers: Map<number, (superclass?: unknown) => unknown>;
  /** Scope node index → its instance (to fill its variables once values exist). */
  instances: Map<number, ScopeInstance>;
  /** Scope or function node index → why it could not be restored. */
  failed: Map<number, string>;
}

/** The scope node a function node was created in, or null. */
export function scopeOfFunction(node: readonly unknown[]): number | null {
  const scope = node[8];
  if (scope === undefined || scope === null) return null;
  expect(typeof scope === "number" && Number.isInteger(scope), "function scope is not an index");
  return scope;
}

export function restoreScopes(nodes: readonly unknown[][], realm: Realm): RestoredScopes {
  const plans = new Map<number, ScopePlan>();
  const parents = new Map<number, number | null>();
  nodes.forEach((node, i) => {
    if (node[0] !== NodeKind.scope) return;
    const parent = node[1];
    // Parents are always encoded before their children, which also rules out cycles.
    expect(
      parent === null ||
        (typeof parent === "number" && Number.isInteger(parent) && parent >= 0 && parent < i),
      "scope parent is not an earlier scope",
    );
    const variables = asArray(node[3], "scope variables");
    expect(variables.length % 2 === 0, "scope variables are not pairs");
    const names: string[] = [];
    for (let k = 0; k < variables.length; k += 2) {
      const name = asString(variables[k], "scope variable name");
      expect(isDeclarableName(name), `scope variable ${JSON.stringify(name)} is not an identifier`);
      names.push(name);
    }
    plans.set(i, { variables: names, functions: [], children: [] });
    parents.set(i, parent);
  });
  for (const [i, parent] of parents) {
    if (parent === null) continue;
    const plan = plans.get(parent);
    expect(plan !== undefined, "scope parent is not a scope");
    plan.children.push(i);
  }
  const functionsOf = new Map<number, number[]>();
  nodes.forEach((node, i) => {
    if (node[0] !== NodeKind.function) return;
    const scope = scopeOfFunction(node);
    if (scope === null) return;
    const plan = plans.get(scope);
    expect(plan !== undefined, "a function refers to a missing scope");
    plan.functions.push({
      form: asString(node[1], "function form") as SourceForm,
      source: asString(node[2], "function source"),
    });
    const list = functionsOf.get(scope);
    if (list === undefined) functionsOf.set(scope, [i]);
    else list.push(i);
  });

  const restored: RestoredScopes = { makers: new Map(), instances: new Map(), failed: new Map() };
  const adopt = (index: number, instance: ScopeInstance) => {
    restored.instances.set(index, instance);
    (functionsOf.get(index) ?? []).forEach((fnIndex, k) => {
      const make = instance.make[k];
      if (make !== undefined) restored.makers.set(fnIndex, make);
    });
    plans.get(index)!.children.forEach((child, k) => {
      const factory = instance.children[k];
      if (factory !== undefined) adopt(child, factory());
    });
  };
  for (const [root, parent] of parents) {
    if (parent !== null) continue;
    try {
      const factory = realm.evaluate(`(${factorySource(root, plans)})`) as () => ScopeInstance;
      adopt(root, factory());
    } catch (error) {
      const reason = `could not re-create its closure scope: ${error instanceof Error ? error.message : String(error)}`;
      failTree(root, plans, functionsOf, restored.failed, reason);
    }
  }
  return restored;
}

function failTree(
  scope: number,
  plans: ReadonlyMap<number, ScopePlan>,
  functionsOf: ReadonlyMap<number, number[]>,
  failed: Map<number, string>,
  reason: string,
): void {
  failed.set(scope, reason);
  for (const fn of functionsOf.get(scope) ?? []) failed.set(fn, reason);
  for (const child of plans.get(scope)?.children ?? [])
    failTree(child, plans, functionsOf, failed, reason);
}
