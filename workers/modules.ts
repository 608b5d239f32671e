/**
 * Remembers which namespace values came from modules, so a checkpoint can store "the
 * `join` export of node:path" instead of a function it cannot re-create, and a restore
 * loads the module again — the way the cell got it:
 *
 * - `require(id)` through the session's `require` (wrapped by `trackingRequire`), also
 *   from a function called in a later cell: restored with the same `require`, so the
 *   restored value is the object a later `require(id)` returns (one module cache);
 * - `import()` and `import` declarations (the prepare step turns those into `import()`),
 *   through `importModuleDynamically`: restored with `import()`, resolved from the module
 *   root exactly as the cell's own import was.
 *
 * Recording happens when the module is obtained, before the cell can fail, so a cell that
 * throws after an import keeps it. The registry never runs a getter: only data properties
 * of a module's exports are recorded.
 */
import { isBuiltin } from "node:module";
import path from "node:path";
import vm from "node:vm";
import type { ModuleBinding } from "../src/checkpoint/index.ts";

/** Where a namespace value came from; the checkpoint's module reference. */
export type ModuleRef = ModuleBinding;

type ImportFromRoot = (specifier: string, options?: ImportCallOptions) => Promise<unknown>;

/** `importModuleDynamically` as `vm.Script` takes it. */
export type DynamicImportHook = NonNullable<vm.ScriptOptions["importModuleDynamically"]>;

/**
 * A function callback for `importModuleDynamically` is refused by Node unless the process
 * runs with `--experimental-vm-modules` (the session worker does); `vm.SourceTextModule`
 * exists exactly when it does.
 */
const CALLBACK_IMPORTS_AVAILABLE = typeof vm.SourceTextModule === "function";

export class ModuleRegistry {
  readonly #refs = new WeakMap<object, ModuleRef>();
  /** Exports objects already walked: a `require` in a hot loop must stay cheap. */
  readonly #walked = new WeakSet<object>();
  readonly #importFromRoot: ImportFromRoot;
  #require: NodeJS.Require | undefined;

  /** `moduleRoot`: the directory the session's `require` and `import()` resolve from. */
  constructor(moduleRoot: string) {
    this.#importFromRoot = importerAt(moduleRoot);
  }

  /**
   * Wraps the session's `require` so every module it returns is recorded (with each of
   * its exports, so a destructured `{ join }` is "export join of node:path"). The
   * wrapper is also what a restore re-requires with.
   */
  trackingRequire(require: NodeJS.Require): NodeJS.Require {
    const tracking = Object.assign(
      (id: string): unknown => {
        const exports: unknown = require(id);
        this.recordModule(id, exports, { via: "require" });
        return exports;
      },
      {
        resolve: require.resolve,
        cache: require.cache,
        main: require.main,
        extensions: require.extensions,
      },
    );
    this.#require = tracking;
    return tracking;
  }

  /**
   * The `importModuleDynamically` option for a cell's script: imports as Node's default
   * loader would from the module root, and records the namespace. Without
   * `--experimental-vm-modules` Node allows only its default loader, which reports
   * nothing, so dynamic imports then go unrecorded (import declarations still are, by
   * `recordImports`).
   */
  get dynamicImport(): DynamicImportHook {
    if (!CALLBACK_IMPORTS_AVAILABLE) return vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER;
    return (specifier, _referrer, attributes) =>
      // The hook's declared type is a vm.Module; Node documents a namespace object as an
      // accepted result too, and that is what a cell's `import()` must produce.
      this.#import(specifier, definedAttributes(attributes)) as unknown as Promise<vm.Module>;
  }

  /** Loads a module again for a restore, the way the cell first got it, and records it. */
  load = async (specifier: string, ref?: ModuleRef): Promise<unknown> => {
    if (ref?.via === "require") {
      if (this.#require === undefined) {
        throw new Error(`cannot require "${specifier}": the session has no tracking require`);
      }
      return this.#require(specifier);
    }
    return this.#import(specifier, ref?.attributes ?? {});
  };

  async #import(specifier: string, attributes: Record<string, string>): Promise<unknown> {
    const withAttributes = Object.keys(attributes).length > 0;
    const namespace = await this.#importFromRoot(
      specifier,
      withAttributes ? { with: attributes } : undefined,
    );
    this.recordModule(specifier, namespace, withAttributes ? { attributes } : {});
    return namespace;
  }

  /** Records one value's origin; the first origin recorded for a value stays. */
  record(value: unknown, ref: ModuleRef): void {
    if ((typeof value === "object" && value !== null) || typeof value === "function") {
      if (!this.#refs.has(value)) this.#refs.set(value, ref);
    }
  }

  /**
   * Records a module (an ESM namespace or a CommonJS `module.exports`) and every object
   * or function it exports as a data property, and one level below an exported object.
   * Accessors are skipped, never called; an
   * export still in its temporal dead zone (an import cycle) is skipped too. Each exports
   * object is walked once (an export a module adds after it has loaded is not seen).
   */
  recordModule(
    specifier: string,
    exports: unknown,
    how: Pick<ModuleRef, "via" | "attributes"> = {},
  ): void {
    this.record(exports, { specifier, ...how });
    if ((typeof exports !== "object" || exports === null) && typeof exports !== "function") {
      return;
    }
    if (this.#walked.has(exports)) return;
    this.#walked.add(exports);
    // Node's own modules define some exports as lazy getters (`fs.promises`); those are
    // Node's code, not the user's or a package's, so they may be read.
    const readGetters = isBuiltin(specifier);
    const objects: Array<[string, object]> = [];
    for (const [name, value] of dataProperties(exports, readGetters)) {
      this.record(value, { specifier, export: name, ...how });
      if (typeof value === "object" && value !== null) objects.push([name, value]);
    }
    // One level down too (`const { readFile } = require("node:fs").promises`), after
    // every export, so a value that is also an export keeps that shorter name.
    for (const [name, object] of objects) {
      for (const [member, inner] of dataProperties(object, readGetters)) {
        this.record(inner, { specifier, export: name, member, ...how });
      }
    }
  }

  /**
   * Records the bindings a cell's `import` declarations created in `namespace`. Needed
   * only where dynamic imports go unrecorded (see `dynamicImport`); otherwise the
   * namespace and its exports are already known and the first record stays.
   */
  recordImports(
    imports: readonly { name: string; specifier: string; imported: string }[],
    namespace: Record<string, unknown>,
  ): void {
    for (const { name, specifier, imported } of imports) {
      const descriptor = Object.getOwnPropertyDescriptor(namespace, name);
      if (descriptor === undefined || !("value" in descriptor)) continue;
      this.record(
        descriptor.value,
        imported === "*" ? { specifier } : { specifier, export: imported },
      );
    }
  }

  refOf = (value: unknown): ModuleRef | undefined =>
    (typeof value === "object" && value !== null) || typeof value === "function"
      ? this.#refs.get(value)
      : undefined;
}

/**
 * An `import()` that resolves specifiers from `moduleRoot` with Node's default loader —
 * exactly as a cell script whose file name lies in `moduleRoot` does — so packages of the
 * user's project and relative paths resolve the same on restore as in the cell.
 */
function importerAt(moduleRoot: string): ImportFromRoot {
  const script = new vm.Script("(specifier, options) => import(specifier, options)", {
    filename: path.join(moduleRoot, "[capsule-import].js"),
    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  return script.runInThisContext() as ImportFromRoot;
}

/**
 * An object's own enumerable string-keyed data properties. Accessors are skipped, never
 * called, unless `readGetters`; a binding still in its temporal dead zone (an ESM import
 * cycle) is skipped too, as is a getter that throws.
 */
function* dataProperties(object: object, readGetters: boolean): Generator<[string, unknown]> {
  // Not Object.keys: it reads each descriptor to test enumerability, and throws on an
  // uninitialized binding before yielding any of the others.
  for (const name of Reflect.ownKeys(object)) {
    if (typeof name !== "string") continue;
    let descriptor: PropertyDescriptor | undefined;
    try {
      descriptor = Object.getOwnPropertyDescriptor(object, name);
    } catch {
      continue;
    }
    if (descriptor?.enumerable !== true) continue;
    if ("value" in descriptor) yield [name, descriptor.value];
    else if (readGetters && descriptor.get !== undefined) {
      let value: unknown;
      try {
        value = descriptor.get.call(object);
      } catch {
        continue; // a lazy export that cannot load here is not one the cell has used
      }
      yield [name, value];
    }
  }
}

function definedAttributes(
  attributes: Readonly<Record<string, string | undefined>>,
): Record<string, string> {
  const defined: Record<string, string> = {};
  for (const [key, value] of Object.entries(attributes)) {
    if (value !== undefined) defined[key] = value;
  }
  return defined;
}
