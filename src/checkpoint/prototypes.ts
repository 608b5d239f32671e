/**
 * How the encoder writes an object's prototype: the kind's builtin prototype of any
 * realm (recognized by shape, remembered per prototype), a namespace class's
 * `.prototype`, or a plain object encoded like any other. Instances of classes whose
 * state cannot be re-created (Node's, imported packages', `#private` ones) are refused.
 */
import { types } from "../builtins.ts";
import {
  constructorOfPrototype,
  isIntrinsicPrototype,
  isNativeFunction,
  isUserRealmClass,
} from "./classify.ts";
import type { ModuleBinding } from "./encode.ts";
import { type Slot, SlotTag } from "./format.ts";
import { privateMembersOf, Uncapturable } from "./functions.ts";
import { functionName } from "./intrinsics.ts";
import type { Path } from "./paths.ts";

/** What prototype encoding needs from the encoder. */
export interface PrototypeContext {
  nodeIndex(value: object, path: Path): number;
  /** Whether user code bound `fn` to a top-level name. */
  isNamespaceClass(fn: unknown): boolean;
  moduleOf(value: unknown): ModuleBinding | undefined;
}

/** Prototypes found to be some realm's `<name>.prototype`, by name (see `isIntrinsic`). */
const INTRINSIC_PROTOTYPES = new WeakMap<object, string>();

export class Prototypes {
  private readonly intrinsic = new Map<object, string | false>();
  private readonly context: PrototypeContext;

  constructor(context: PrototypeContext) {
    this.context = context;
  }

  /**
   * Encodes a prototype: 0 for the kind's builtin prototype, null, the `.prototype` of a
   * namespace class, or a plain object that is itself encoded. Anything else (instances
   * of Node's classes, of classes hidden in closures, of imported classes) is refused.
   * With `builtinOnly`, only the builtin prototype is accepted.
   */
  slot(proto: object | null, builtin: string, builtinOnly = false): Slot {
    if (proto === null) {
      if (builtinOnly) throw new Uncapturable(`${builtin} with a null prototype`);
      return null;
    }
    // A Proxy prototype is encoded like any value, and refused there without a trap run.
    if (types.isProxy(proto)) return [SlotTag.ref, this.context.nodeIndex(proto, "<prototype>")];
    if (this.isIntrinsic(proto, builtin)) return 0;
    const ctor = constructorOfPrototype(proto);
    const className = (ctor !== undefined && functionName(ctor)) || "an anonymous class";
    if (
      !builtinOnly &&
      ctor !== undefined &&
      (this.context.isNamespaceClass(ctor) || isUserRealmClass(ctor))
    ) {
      this.rejectPrivateState(ctor);
      return [SlotTag.prototypeOf, this.context.nodeIndex(ctor, className)];
    }
    if (ctor !== undefined || builtinOnly) {
      const from = ctor !== undefined ? this.context.moduleOf(ctor) : undefined;
      throw new Uncapturable(
        from !== undefined
          ? `instance of ${className} from "${from.specifier}" (its internal state cannot be re-created)`
          : isNativeFunction(ctor)
            ? `object with the builtin prototype ${className}.prototype`
            : `instance of ${className}, a class of the runtime, not of the session`,
      );
    }
    return [SlotTag.ref, this.context.nodeIndex(proto, "<prototype>")];
  }

  /**
   * `isIntrinsicPrototype`, remembered per prototype: most objects share a handful. A
   * yes is remembered across encodes too (an engine-made prototype stays one: its
   * constructor's `prototype` cannot be rewritten); a no only for this encode, since
   * user code may put a prototype's `constructor` back between encodes.
   */
  isIntrinsic(proto: object, builtin: string): boolean {
    let known = INTRINSIC_PROTOTYPES.get(proto) ?? this.intrinsic.get(proto);
    if (known === undefined) {
      const ctor = constructorOfPrototype(proto);
      const name = ctor === undefined ? "" : functionName(ctor);
      known = ctor !== undefined && isIntrinsicPrototype(proto, name) ? name : false;
      if (known === false) this.intrinsic.set(proto, known);
      else INTRINSIC_PROTOTYPES.set(proto, known);
    }
    return known === builtin;
  }

  /** Instances of a class (or subclass) with `#private` members carry hidden state. */
  private rejectPrivateState(ctor: (...args: never[]) => unknown): void {
    for (let c: unknown = ctor; typeof c === "function"; c = Object.getPrototypeOf(c)) {
      if (isNativeFunction(c) || types.isProxy(c)) return;
      if (privateMembersOf(c as (...args: never[]) => unknown).instance) {
        throw new Uncapturable(
          `instance of ${functionName(ctor)}: class ${functionName(c as object)} has #private members, which cannot be read`,
        );
      }
    }
  }
}
