/**
 * Rebuilds a node table inside a target `vm` context in phases, so every value exists
 * before anything needs it:
 *
 * 1. imports (`loadModule`) and target builtins;
 * 2. array buffers, then every data object as an empty shell of the right kind;
 * 3. functions and classes, evaluated from source (a derived class after its superclass);
 * 4. contents (`contents.ts`): prototypes re-linked (instances to the *restored* classes), properties,
 *    map/set entries, array items, error causes, static fields.
 *
 * A function that fails to evaluate fails only the names that reach it.
 */
import type vm from "node:vm";
import { Contents } from "./contents.ts";
import type { DecodedNamespace, DecodeOptions } from "./decode.ts";
import type { Uncaptured } from "./encode.ts";
import { invalidCheckpoint, NodeKind, PropFlag, SlotTag } from "./format.ts";
import { batchMakers, type Maker } from "./function-batch.ts";
import { describeModule, exportOf, moduleKey, readModuleNode } from "./module-node.ts";
import { NamespaceAccessor } from "./namespace.ts";
import { evaluateFunctionSource, memberOf, Realm } from "./realm.ts";
import { failureFinder } from "./refs.ts";
import { type RestoredScopes, restoreScopes } from "./scope-restore.ts";
import { createBuffer, createShell } from "./shells.ts";
import { asNumber, asString, expect, type Mutable } from "./validate.ts";

/** The restore phases over one node table (see `decode.ts`). */
export class Decoder {
  private readonly values: unknown[];
  private readonly done: boolean[];
  private readonly failedNodes = new Map<number, string>();
  private readonly evaluating = new Set<number>();
  private readonly realm: Realm;
  private readonly nodes: unknown[][];
  private readonly options: DecodeOptions;
  private scopes: RestoredScopes | undefined;
  /** Makers of the functions without a captured scope, compiled as one script. */
  private batch: Map<number, Maker> | undefined;

  constructor(nodes: unknown[][], context: vm.Context, options: DecodeOptions) {
    this.nodes = nodes;
    this.options = options;
    this.values = new Array<unknown>(nodes.length);
    this.done = new Array<boolean>(nodes.length).fill(false);
    this.realm = new Realm(context, options.importModuleDynamically);
  }

  async run(names: unknown[]): Promise<DecodedNamespace> {
    await this.importsAndGlobals();
    this.forKinds([NodeKind.arrayBuffer], (node, i) => this.createBuffer(node, i));
    this.forKinds(SHELL_KINDS, (node, i) => this.createShell(node, i));
    this.forKinds([NodeKind.symbol], (node, i) => this.createSymbol(node, i));
    this.scopes = restoreScopes(this.nodes, this.realm);
    for (const [i, reason] of this.scopes.failed) {
      this.failedNodes.set(i, reason);
      this.settle(i, undefined);
    }
    this.batch = this.batchFunctions();
    this.forKinds([NodeKind.function], (_node, i) => this.evaluateFunction(i));
    this.forKinds([NodeKind.functionPrototype], (node, i) => this.linkFunctionPrototype(node, i));
    const contents = new Contents({
      values: this.values,
      resolve: (slot) => this.resolve(slot),
      refIndex: (slot) => this.refIndex(slot),
      scopeInstances: this.scopes.instances,
    });
    this.nodes.forEach((node, i) => {
      if (!this.failedNodes.has(i)) contents.fill(node, i);
    });
    return this.collect(names);
  }

  private forKinds(kinds: readonly string[], action: (node: unknown[], index: number) => void) {
    const wanted = new Set(kinds);
    const { nodes, done } = this;
    for (let i = 0; i < nodes.length; i++) {
      const node = nodes[i]!;
      if (wanted.has(node[0] as string) && !done[i]) action(node, i);
    }
  }

  private async importsAndGlobals(): Promise<void> {
    // One import per specifier, however many of its exports the namespace holds.
    const imports = new Map<string, Promise<unknown>>();
    for (const [i, node] of this.nodes.entries()) {
      if (node[0] === NodeKind.global) {
        const name = asString(node[1], "global name");
        const value = this.realm.global(name);
        if (value === undefined) this.failedNodes.set(i, `the target context has no ${name}`);
        this.settle(i, value);
      } else if (node[0] === NodeKind.module) {
        const binding = readModuleNode(node);
        const what = describeModule(binding);
        if (this.options.loadModule === undefined) {
          this.failedNodes.set(i, `import of ${what} needs a loadModule callback`);
          this.settle(i, undefined);
          continue;
        }
        try {
          const key = moduleKey(binding);
          let pending = imports.get(key);
          if (pending === undefined) {
            pending = this.options.loadModule(binding.specifier, binding);
            imports.set(key, pending);
          }
          const namespace = (await pending) as Mutable;
          this.settle(i, exportOf(namespace, binding));
        } catch (error) {
          this.failedNodes.set(i, `import of ${what} failed: ${String(error)}`);
          this.settle(i, undefined);
        }
      }
    }
  }

  private settle(index: number, value: unknown): void {
    this.values[index] = value;
    this.done[index] = true;
  }

  private createBuffer(node: unknown[], i: number): void {
    this.settle(i, createBuffer(node, this.realm));
  }

  /** A unique symbol: one new `Symbol()` that every reference to the node shares. */
  private createSymbol(node: unknown[], i: number): void {
    const description = node[1] === null ? undefined : asString(node[1], "symbol description");
    this.settle(i, Symbol(description));
  }

  private createShell(node: unknown[], i: number): void {
    this.settle(
      i,
      createShell(node, this.realm, (slot) => this.resolve(slot)),
    );
  }

  /** Evaluates a function node (its superclass first); memoized, cycles are malformed. */
  private evaluateFunction(i: number): void {
    if (this.done[i]) return;
    const node = this.nodes[i]!;
    expect(!this.evaluating.has(i), "a class is its own superclass");
    this.evaluating.add(i);
    const form = asString(node[1], "function form");
    const source = asString(node[2], "function source");
    let value: unknown;
    try {
      let superclass: unknown;
      if (form === "derived") {
        const resolved = this.superclassOf(node[3]);
        if (resolved.failed !== undefined) throw new Error(resolved.failed);
        superclass = resolved.value;
      }
      const make = this.scopes?.makers.get(i) ?? this.batch?.get(i);
      value =
        make === undefined
          ? evaluateFunctionSource(this.realm, form, source, superclass)
          : memberOf(form, make(superclass));
      if (typeof value !== "function") throw new Error("its source did not evaluate to a function");
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.failedNodes.set(i, `could not re-create function: ${message}`);
      value = undefined;
    }
    this.evaluating.delete(i);
    this.settle(i, value);
  }

  /** One compiled batch for every function node not created in a restored scope. */
  private batchFunctions(): Map<number, Maker> | undefined {
    const functions: Array<{ index: number; form: string; source: string }> = [];
    this.nodes.forEach((node, index) => {
      if (node[0] !== NodeKind.function || this.done[index] || this.scopes?.makers.has(index)) {
        return;
      }
      const [, form, source] = node;
      // Anything malformed is left to `evaluateFunction`, which reports it.
      if (typeof source === "string" && typeof form === "string" && BATCH_FORMS.has(form)) {
        functions.push({ index, form, source });
      }
    });
    return batchMakers(this.realm, functions);
  }

  private superclassOf(slot: unknown): { value: unknown; failed?: string } {
    if (Array.isArray(slot) && slot[0] === SlotTag.ref) {
      const index = this.refIndex(slot);
      if (this.nodes[index]![0] === NodeKind.function) this.evaluateFunction(index);
      const failed = this.failedNodes.get(index);
      if (failed !== undefined)
        return { value: undefined, failed: `its superclass failed: ${failed}` };
    }
    return { value: this.resolve(slot) };
  }

  private linkFunctionPrototype(node: unknown[], i: number): void {
    const index = this.refIndex([SlotTag.ref, node[1]]);
    const fn = this.values[index] as { prototype?: unknown } | undefined;
    if (fn === undefined) this.failedNodes.set(i, "its class could not be re-created");
    this.settle(i, fn?.prototype);
  }

  refIndex(slot: unknown[]): number {
    const index = slot[1];
    expect(
      typeof index === "number" &&
        Number.isInteger(index) &&
        index >= 0 &&
        index < this.nodes.length,
      "reference out of range",
    );
    return index;
  }

  resolve(slot: unknown): unknown {
    if (!Array.isArray(slot)) {
      expect(
        slot === null || ["string", "number", "boolean"].includes(typeof slot),
        "slot is not a value",
      );
      return slot;
    }
    switch (slot[0]) {
      case SlotTag.ref: {
        const index = this.refIndex(slot);
        expect(this.done[index] === true, "reference to a node not yet created");
        return this.values[index];
      }
      case SlotTag.undefined:
        return undefined;
      case SlotTag.negativeZero:
        return -0;
      case SlotTag.bigint:
        try {
          return BigInt(asString(slot[1], "bigint"));
        } catch (error) {
          throw invalidCheckpoint("bigint digits", error);
        }
      case SlotTag.registeredSymbol:
        return Symbol.for(asString(slot[1], "symbol key"));
      case SlotTag.wellKnownSymbol: {
        const symbol = (Symbol as unknown as Mutable)[asString(slot[1], "symbol name")];
        expect(typeof symbol === "symbol", "unknown well-known symbol");
        return symbol;
      }
    }
    throw invalidCheckpoint(`unknown slot tag ${JSON.stringify(slot[0])}`);
  }

  private collect(names: unknown[]): DecodedNamespace {
    const values = new Map<string, unknown>();
    const failed: Uncaptured[] = [];
    const reasonFor =
      this.failedNodes.size > 0 ? failureFinder(this.nodes, this.failedNodes) : undefined;
    for (let k = 0; k < names.length; k += 2) {
      const name = asString(names[k], "name");
      const slot = names[k + 1];
      const reason = reasonFor?.(slot);
      if (reason !== undefined) failed.push({ name, reason });
      else if (Array.isArray(slot) && slot[0] === SlotTag.accessor) {
        const flags = asNumber(slot[3], "accessor flags");
        values.set(
          name,
          new NamespaceAccessor({
            get: this.resolve(slot[1]) as (() => unknown) | undefined,
            set: this.resolve(slot[2]) as ((value: unknown) => void) | undefined,
            enumerable: (flags & PropFlag.enumerable) !== 0,
            configurable: (flags & PropFlag.configurable) !== 0,
          }),
        );
      } else values.set(name, this.resolve(slot));
    }
    return { values, failed };
  }
}

const BATCH_FORMS = new Set(["expression", "derived", "method", "getter", "setter"]);

const SHELL_KINDS: readonly string[] = [
  NodeKind.object,
  NodeKind.array,
  NodeKind.date,
  NodeKind.regexp,
  NodeKind.map,
  NodeKind.set,
  NodeKind.typedArray,
  NodeKind.dataView,
  NodeKind.boxed,
  NodeKind.error,
  NodeKind.plain,
  NodeKind.numbers,
];
