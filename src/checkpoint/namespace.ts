/**
 * Reading and writing a namespace (a context's global object) without running user code.
 * A top-level name defined with a getter (`Object.defineProperty(globalThis, "now",
 * { get() { … } })`) is read as its getter/setter pair, never by calling the getter, and
 * restored by defining it again.
 */

/** Instances, for a brand check: `instanceof` would walk a user value's prototype chain,
 * which runs a Proxy's `getPrototypeOf` trap. */
const accessors = new WeakSet<object>();

/** Whether `value` is a `NamespaceAccessor` (without touching the value). */
export function isNamespaceAccessor(value: unknown): value is NamespaceAccessor {
  return typeof value === "object" && value !== null && accessors.has(value);
}

/** A top-level accessor property: what the codec encodes and restores for such a name. */
export class NamespaceAccessor {
  readonly get: (() => unknown) | undefined;
  readonly set: ((value: unknown) => void) | undefined;
  readonly enumerable: boolean;
  readonly configurable: boolean;

  constructor(descriptor: {
    get?: (() => unknown) | undefined;
    set?: ((value: unknown) => void) | undefined;
    enumerable?: boolean | undefined;
    configurable?: boolean | undefined;
  }) {
    this.get = descriptor.get;
    this.set = descriptor.set;
    this.enumerable = descriptor.enumerable === true;
    this.configurable = descriptor.configurable === true;
    accessors.add(this);
  }
}

/**
 * The entries of `names` on `global`: data properties by value, accessors as a
 * `NamespaceAccessor`. Names that are not own properties (any more) are left out.
 */
export function readNamespace(global: object, names: Iterable<string>): Array<[string, unknown]> {
  const entries: Array<[string, unknown]> = [];
  for (const name of names) {
    const descriptor = Reflect.getOwnPropertyDescriptor(global, name);
    if (descriptor === undefined) continue;
    entries.push([
      name,
      "value" in descriptor
        ? descriptor.value
        : new NamespaceAccessor(descriptor as ConstructorParameters<typeof NamespaceAccessor>[0]),
    ]);
  }
  return entries;
}

/**
 * Puts a restored entry into `global`: an accessor is defined (replacing what is there),
 * a value is assigned as a cell's assignment would. An existing accessor is replaced by
 * a data property rather than having its setter called.
 */
export function assignNamespace(global: object, name: string, value: unknown): void {
  const existing = Reflect.getOwnPropertyDescriptor(global, name);
  if (isNamespaceAccessor(value)) {
    Object.defineProperty(global, name, {
      get: value.get,
      set: value.set,
      enumerable: value.enumerable,
      configurable: value.configurable,
    });
  } else if (existing === undefined || "value" in existing) {
    (global as Record<string, unknown>)[name] = value;
  } else {
    Object.defineProperty(global, name, {
      value,
      writable: true,
      enumerable: true,
      configurable: true,
    });
  }
}
