/**
 * Remembers which namespace values came from modules (`import` in a cell, or `require`),
 * so a checkpoint can store "the `join` export of node:path" instead of a function it
 * cannot re-create, and a restore imports the module again.
 */
export interface ModuleRef {
  specifier: string;
  /** Export name; absent for the whole module (namespace object or `require` result). */
  export?: string;
}

export class ModuleRegistry {
  readonly #refs = new WeakMap<object, ModuleRef>();

  record(value: unknown, ref: ModuleRef): void {
    if ((typeof value === "object" && value !== null) || typeof value === "function") {
      if (!this.#refs.has(value)) this.#refs.set(value, ref);
    }
  }

  /** Records a module's namespace object and every object or function it exports. */
  recordModule(specifier: string, namespace: unknown): void {
    this.record(namespace, { specifier });
    if (typeof namespace !== "object" || namespace === null) return;
    for (const [name, value] of Object.entries(namespace)) {
      this.record(
        value,
        name === "default" ? { specifier, export: "default" } : { specifier, export: name },
      );
    }
  }

  /** Records the bindings a cell's `import` declarations created in `namespace`. */
  recordImports(
    imports: readonly { name: string; specifier: string; imported: string }[],
    namespace: Record<string, unknown>,
  ): void {
    for (const { name, specifier, imported } of imports) {
      this.record(
        namespace[name],
        imported === "*" ? { specifier } : { specifier, export: imported },
      );
    }
  }

  refOf = (value: unknown): ModuleRef | undefined =>
    (typeof value === "object" && value !== null) || typeof value === "function"
      ? this.#refs.get(value)
      : undefined;
}
