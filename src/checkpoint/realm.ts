/**
 * The target context's builtins. Restored values are built with the target's own
 * constructors so user code there sees ordinary values (`[] instanceof Array` holds).
 */
import vm from "node:vm";
import { compileUncached } from "../vm/uncached-script.ts";
import { type SourceForm, SUPERCLASS_PARAM } from "./functions.ts";

type Constructor = new (...args: unknown[]) => object;

type NumberCopier = (doubles: Float64Array, length: number) => unknown[];

/**
 * Per target context, kept across restores: a new copy per restore would run in V8's
 * interpreter each time (measured slower than the target's `JSON.parse` of the same
 * numbers); a kept one is compiled once and stays optimized.
 */
const numberCopiers = new WeakMap<vm.Context, NumberCopier>();

type GlobalReader = (name: string) => unknown;

/** Per target context (see `Realm.readGlobal`). */
const globalReaders = new WeakMap<vm.Context, GlobalReader>();

export class Realm {
  private readonly cache = new Map<string, unknown>();

  private readonly context: vm.Context;
  private readonly importModuleDynamically: vm.ScriptOptions["importModuleDynamically"];

  /** `importModuleDynamically`: what `import()` in re-created functions uses. */
  constructor(
    context: vm.Context,
    importModuleDynamically?: vm.ScriptOptions["importModuleDynamically"],
  ) {
    this.context = context;
    this.importModuleDynamically = importModuleDynamically;
  }

  /** A global of the target context, read once (before user code could replace it). */
  global(name: string): unknown {
    if (!this.cache.has(name)) this.cache.set(name, this.readGlobal()(name));
    return this.cache.get(name);
  }

  /** The target's reader of its globals, compiled once per context (~10 µs a script). */
  private readGlobal(): GlobalReader {
    let read = globalReaders.get(this.context);
    if (read === undefined) {
      read = vm.runInContext("(function (name) { return globalThis[name]; })", this.context);
      globalReaders.set(this.context, read as GlobalReader);
    }
    return read as GlobalReader;
  }

  constructorOf(name: string): Constructor {
    const ctor = this.global(name);
    if (typeof ctor !== "function") throw new TypeError(`the target context has no ${name}`);
    return ctor as Constructor;
  }

  private parse: ((text: string) => unknown) | undefined;
  /**
   * A new array of the target holding `doubles`' items, made by a function of the
   * target (so the array is born there), appending in order so it stays packed, as the
   * target's `JSON.parse` would make it. It reads only this realm's Float64Array.
   */
  arrayOfNumbers(doubles: Float64Array): unknown[] {
    let copy = numberCopiers.get(this.context);
    if (copy === undefined) {
      copy = vm.runInContext(
        "(function (doubles, length) { const out = []; for (let i = 0; i < length; i++) out[i] = doubles[i]; return out; })",
        this.context,
      ) as NumberCopier;
      numberCopiers.set(this.context, copy);
    }
    return copy(doubles, doubles.length);
  }

  /**
   * The target's own `JSON.parse` of `text`: its objects are born in the target realm.
   * Throws the SyntaxError of malformed text.
   */
  parseJSON(text: string): unknown {
    this.parse ??= (this.readGlobal()("JSON") as { parse: (text: string) => unknown }).parse;
    return this.parse(text);
  }

  get objectPrototype(): object {
    return (this.constructorOf("Object") as unknown as { prototype: object }).prototype;
  }

  /** Evaluates source text as a script in the target context. */
  evaluate(source: string): unknown {
    // Without the hook an `import()` in a restored function throws "A dynamic import
    // callback was not specified", although it worked in the cell that defined it. Each
    // restore's sources are new, so they stay out of V8's compilation cache (see there).
    const script = compileUncached(
      source,
      this.importModuleDynamically === undefined
        ? {}
        : { importModuleDynamically: this.importModuleDynamically },
    );
    return script.runInContext(this.context);
  }
}

/**
 * Re-creates a function from its source in the target (see `SourceForm`); `superclass`
 * is the restored superclass of a `derived` class. Throws what the evaluation throws.
 */
export function evaluateFunctionSource(
  realm: Realm,
  form: string,
  source: string,
  superclass: unknown,
): unknown {
  const known: SourceForm = form as SourceForm;
  switch (known) {
    case "derived": {
      const factory = realm.evaluate(
        `(function (${SUPERCLASS_PARAM}) { return (${source}\n); })`,
      ) as (superclass: unknown) => unknown;
      return factory(superclass);
    }
    case "expression":
      return realm.evaluate(`(${source}\n)`);
    case "method":
    case "getter":
    case "setter":
      // Object-literal members only parse inside an object literal.
      return memberOf(known, realm.evaluate(`({${source}\n})`));
  }
  throw new Error(`unknown function form ${JSON.stringify(form)}`);
}

/**
 * The function a source evaluated to: itself for `expression`/`derived`, or for a
 * member form the method/getter/setter taken out of the one-member object `evaluated`.
 */
export function memberOf(form: string, evaluated: unknown): unknown {
  if (form !== "method" && form !== "getter" && form !== "setter") return evaluated;
  const holder = evaluated as object;
  const key = Reflect.ownKeys(holder)[0]!;
  const descriptor = Reflect.getOwnPropertyDescriptor(holder, key)!;
  if (form === "getter") return descriptor.get;
  if (form === "setter") return descriptor.set;
  return descriptor.value;
}
