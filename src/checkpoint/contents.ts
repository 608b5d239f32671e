/**
 * The last restore phase (see `decoder.ts`): with every value created, fills each node's
 * contents — its prototype re-linked (instances to the *restored* classes), properties
 * with their attributes, map and set entries, array items, an error's cause, a class's
 * static fields and prototype members, a closure scope's variables.
 */
import { NodeKind, PropFlag, SlotTag } from "./format.ts";
import { asArray, asNumber, expect, type Mutable } from "./validate.ts";

/** What filling needs from the decoder. */
export interface ContentSink {
  /** Node index → the value created for it. */
  readonly values: readonly unknown[];
  resolve(slot: unknown): unknown;
  /** The node index of a `ref` slot (checked to be in range). */
  refIndex(slot: unknown[]): number;
  /** Restored closure scopes by node index: set their variables once resolvable. */
  readonly scopeInstances: ReadonlyMap<number, { set(values: unknown[]): void }>;
}

export class Contents {
  private readonly sink: ContentSink;

  constructor(sink: ContentSink) {
    this.sink = sink;
  }

  fill(node: unknown[], i: number): void {
    const target = this.sink.values[i] as Mutable;
    switch (node[0]) {
      case NodeKind.object:
        this.applyPrototype(target, node[1]);
        this.applyProps(target, node[2], node[1] === 0 || node[1] === null);
        return;
      case NodeKind.array: {
        this.applyPrototype(target, node[1]);
        const length = asNumber(node[2], "array length");
        const items = node[3];
        if (items !== null) {
          const list = asArray(items, "array items");
          for (let k = 0; k < list.length; k++) {
            const item = list[k];
            if (Array.isArray(item) && item[0] === SlotTag.hole) continue;
            (target as unknown as unknown[])[k] = this.sink.resolve(item);
          }
        }
        this.applyProps(target, node[4], false);
        (target as unknown as unknown[]).length = length;
        return;
      }
      case NodeKind.date:
      case NodeKind.map:
      case NodeKind.set:
        this.applyPrototype(target, node[1]);
        if (node[0] === NodeKind.map) {
          const entries = asArray(node[2], "map entries");
          for (let k = 0; k + 1 < entries.length; k += 2) {
            Map.prototype.set.call(
              target,
              this.sink.resolve(entries[k]),
              this.sink.resolve(entries[k + 1]),
            );
          }
        } else if (node[0] === NodeKind.set) {
          for (const item of asArray(node[2], "set items"))
            Set.prototype.add.call(target, this.sink.resolve(item));
        }
        this.applyProps(target, node[3], false);
        return;
      case NodeKind.regexp:
        this.applyPrototype(target, node[1]);
        this.applyProps(target, node[5], false);
        return;
      case NodeKind.boxed:
        this.applyProps(target, node[2], false);
        return;
      case NodeKind.error:
        this.applyPrototype(target, node[1]);
        if (node[5] === true) {
          Object.defineProperty(target, "cause", {
            value: this.sink.resolve(node[6]),
            writable: true,
            enumerable: false,
            configurable: true,
          });
        }
        this.applyProps(target, node[7], false);
        return;
      case NodeKind.function:
        this.fillFunction(node, target);
        return;
      case NodeKind.plain:
        if (node[2] !== undefined) this.applyPatches(target, node[2]);
        return;
      case NodeKind.numbers:
        return; // complete when created

      case NodeKind.scope: {
        const variables = asArray(node[3], "scope variables");
        const values: unknown[] = [];
        for (let k = 1; k < variables.length; k += 2) values.push(this.sink.resolve(variables[k]));
        this.sink.scopeInstances.get(i)?.set(values);
        return;
      }
    }
  }

  private fillFunction(node: unknown[], fn: Mutable): void {
    this.applyProps(fn, node[4], false);
    if (node[6] !== null) {
      Object.defineProperty(fn, "prototype", { value: this.sink.resolve(node[6]) });
    }
    const prototype = fn.prototype as Mutable | undefined;
    if (typeof prototype === "object" && prototype !== null) {
      if (node[7] !== 0) this.applyPrototype(prototype, node[7]);
      this.applyProps(prototype, node[5], false);
    }
  }

  /**
   * Sets each patch of a plain tree: the JSON has `null` there. Every path is followed
   * first, before anything is set, so each step reads an own data property of an object
   * the target's `JSON.parse` made (a malformed path cannot pass through a patched-in
   * value, nor reach a prototype or an accessor); each patch is then a plain assignment
   * to such a property, which keeps the key's place (as `defineProperty` would, at ~10x
   * the cost per patch).
   */
  private applyPatches(root: Mutable, patches: unknown): void {
    const list = asArray(patches, "plain tree patches");
    expect(list.length % 2 === 0, "plain tree patches are not in pairs");
    const holders = new Array<Mutable>(list.length / 2);
    const keys = new Array<string | number>(list.length / 2);
    for (let k = 0; k < list.length; k += 2) {
      const path = asArray(list[k], "patch path");
      expect(path.length > 0, "a patch path is empty");
      let at: Mutable = root;
      for (let j = 0; ; j++) {
        const key = path[j];
        expect(
          (typeof key === "string" || typeof key === "number") && Object.hasOwn(at, key),
          "a patch path leaves the tree",
        );
        if (j === path.length - 1) {
          holders[k / 2] = at;
          keys[k / 2] = key;
          break;
        }
        const next = at[key];
        expect(typeof next === "object" && next !== null, "a patch path leaves the tree");
        at = next as Mutable;
      }
    }
    for (let i = 0; i < holders.length; i++) {
      holders[i]![keys[i]!] = this.sink.resolve(list[2 * i + 1]);
    }
  }

  private applyPrototype(target: object, slot: unknown): void {
    if (slot === 0 || slot === null) return; // created with it
    expect(Array.isArray(slot), "prototype is not a slot");
    const proto =
      slot[0] === SlotTag.prototypeOf
        ? (
            this.sink.values[this.sink.refIndex([SlotTag.ref, slot[1]])] as
              | { prototype?: unknown }
              | undefined
          )?.prototype
        : this.sink.resolve(slot);
    expect(typeof proto === "object" || typeof proto === "function", "prototype is not an object");
    Object.setPrototypeOf(target, proto as object | null);
  }

  private applyProps(target: Mutable, props: unknown, plain: boolean): void {
    const list = asArray(props, "property list");
    expect(list.length % 3 === 0, "property list is not in triples");
    for (let k = 0; k < list.length; k += 3) {
      const keySlot = list[k];
      const key =
        typeof keySlot === "string" ? keySlot : (this.sink.resolve(keySlot) as PropertyKey);
      expect(typeof key === "string" || typeof key === "symbol", "property key is not a key");
      const flags = asNumber(list[k + 2], "property flags");
      if (plain && flags === PropFlag.plain && key !== "__proto__") {
        target[key] = this.sink.resolve(list[k + 1]);
        continue;
      }
      const attributes = {
        enumerable: (flags & PropFlag.enumerable) !== 0,
        configurable: (flags & PropFlag.configurable) !== 0,
      };
      if ((flags & PropFlag.accessor) !== 0) {
        const pair = asArray(list[k + 1], "accessor pair");
        Object.defineProperty(target, key, {
          ...attributes,
          get: this.sink.resolve(pair[0]) as (() => unknown) | undefined,
          set: this.sink.resolve(pair[1]) as ((v: unknown) => void) | undefined,
        });
      } else {
        Object.defineProperty(target, key, {
          ...attributes,
          writable: (flags & PropFlag.writable) !== 0,
          value: this.sink.resolve(list[k + 1]),
        });
      }
    }
  }
}
