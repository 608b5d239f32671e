/**
 * The function that completion and inspection run inside a session, on its live
 * namespace. It is sent as source (`namespaceProbe.toString()`), so it must be
 * self-contained: no imports, no outer names, only what any realm has. It never runs
 * user code: names are read with `Object.getOwnPropertyNames` and property descriptors,
 * a getter is never called, a proxy is never looked into (its traps are code), and inspection formats with `customInspect: false` and
 * `getters: false`.
 */

/** What the probe is asked: the dotted path before the cursor, and what to do there. */
export interface ProbeRequest {
  kind: "complete" | "inspect";
  /** Property path from the global object, e.g. ["config", "server"] for `config.server.`. */
  path: string[];
  /** complete: the partial name being typed after the path. */
  prefix: string;
}

export interface ProbeAnswer {
  /** complete: the matching names, sorted. */
  matches: string[];
  /** inspect: whether the path names a value. */
  found: boolean;
  /** inspect: a readable description (type, signature, value). */
  text: string;
}

export function namespaceProbe(request: ProbeRequest): ProbeAnswer {
  const none: ProbeAnswer = { matches: [], found: false, text: "" };
  const util = (globalThis as { require?: (id: string) => unknown }).require?.("node:util") as
    | {
        inspect(value: unknown, options: object): string;
        types: { isProxy(value: unknown): boolean };
      }
    | undefined;
  // A proxy's traps are user code, as a getter is: the probe stops at a proxy. Without
  // util to tell one, nothing is read.
  const isProxy = (value: unknown): boolean => util === undefined || util.types.isProxy(value);
  const descriptorOf = (target: unknown, key: string): PropertyDescriptor | undefined => {
    let level: unknown = target;
    if (level === null || level === undefined) return undefined;
    if (typeof level !== "object" && typeof level !== "function") level = Object(level);
    for (let depth = 0; level !== null && depth < 64; depth++) {
      if (isProxy(level)) return undefined;
      const descriptor = Object.getOwnPropertyDescriptor(level as object, key);
      if (descriptor !== undefined) return descriptor;
      level = Object.getPrototypeOf(level);
    }
    return undefined;
  };
  // Resolve the path through data properties only: a getter might do anything.
  let value: unknown = globalThis;
  for (const key of request.path) {
    const descriptor = descriptorOf(value, key);
    if (descriptor === undefined || !("value" in descriptor)) return none;
    value = descriptor.value;
  }
  if (request.kind === "complete") {
    if (value === null || value === undefined) return none;
    const names = new Set<string>();
    let level: unknown =
      typeof value === "object" || typeof value === "function" ? value : Object(value);
    for (let depth = 0; level !== null && depth < 64; depth++) {
      if (isProxy(level)) break;
      for (const name of Object.getOwnPropertyNames(level as object)) {
        if (name.startsWith(request.prefix) && /^[A-Za-z_$][\w$]*$/.test(name)) names.add(name);
      }
      level = Object.getPrototypeOf(level);
    }
    return { ...none, matches: [...names].sort() };
  }
  const shown =
    util?.inspect(value, {
      depth: 2,
      customInspect: false,
      getters: false,
      showProxy: true,
      maxArrayLength: 20,
      maxStringLength: 500,
      breakLength: 80,
    }) ?? String(typeof value);
  let kind: string = value === null ? "null" : typeof value;
  if (typeof value === "function") {
    const source = Function.prototype.toString.call(value);
    const head = source.split("\n", 1)[0] ?? "";
    kind = source.startsWith("class") ? "class" : "function";
    return {
      ...none,
      found: true,
      text: `${kind}\n${head.length > 200 ? `${head.slice(0, 200)}…` : head}`,
    };
  }
  if (typeof value === "object" && value !== null) {
    const maker = descriptorOf(value, "constructor");
    const name =
      maker !== undefined && typeof maker.value === "function"
        ? Object.getOwnPropertyDescriptor(maker.value, "name")?.value
        : undefined;
    if (typeof name === "string" && name !== "") kind = name;
  }
  return { ...none, found: true, text: `${kind}\n${shown}` };
}
