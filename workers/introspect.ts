/**
 * Completion and inspection on the session's live namespace, answering the host's
 * `introspect` request (not a cell: nothing is recorded). It never runs user code: names
 * are read with `Reflect.ownKeys` and property descriptors, a getter is never called, a
 * proxy is never looked into (its traps are code), and inspection formats with
 * `customInspect: false` and `getters: false`. The host splits the text at the cursor into
 * the property path and the partial name (src/kernel/introspect.ts).
 */
import { util } from "../src/builtins.ts";
import type { Introspect, Introspection } from "../src/protocol/messages.ts";
import { CAPSULE_GETTERS } from "./context.ts";

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;
const JUPYTER_DISPLAY = Symbol.for("Jupyter.display");
/** The wire's bounds on an answer (see IntrospectionSchema). */
const MAX_MATCHES = 10_000;
const MAX_TEXT = 100_000;

type Answer = Omit<Introspection, "type" | "seq" | "id">;
const none: Answer = { matches: [], found: false, text: "" };

export function introspect(root: object, request: Introspect): Introspection {
  let answer: Answer;
  try {
    if (request.kind === "complete") answer = complete(root, request);
    else if (request.kind === "inspect") answer = inspect(root, request);
    else answer = { ...none, found: offersDisplay(root, request.path) };
  } catch {
    // A value the engine refuses to describe (a revoked proxy deep inside): no answer.
    answer = none;
  }
  return { type: "introspection", id: request.id, ...answer };
}

/** The property `key` of `target` along its prototype chain, as a descriptor. */
function descriptorOf(target: unknown, key: string): PropertyDescriptor | undefined {
  if (target === null || target === undefined) return undefined;
  let level: unknown =
    typeof target === "object" || typeof target === "function" ? target : Object(target);
  for (let depth = 0; level !== null && depth < 64; depth++) {
    if (util.types.isProxy(level)) return undefined;
    const descriptor = Reflect.getOwnPropertyDescriptor(level as object, key);
    if (descriptor !== undefined) return descriptor;
    level = Reflect.getPrototypeOf(level as object);
  }
  return undefined;
}

/**
 * Follows `path` from the global object through data properties only: a getter might do
 * anything. Capsule's own getters (`_`, `_error`) are the exception: they run no user code.
 */
function resolve(root: object, path: readonly string[]): { value: unknown } | undefined {
  let value: unknown = root;
  for (const key of path) {
    const descriptor = descriptorOf(value, key);
    if (descriptor === undefined) return undefined;
    if ("value" in descriptor) value = descriptor.value;
    else if (descriptor.get !== undefined && CAPSULE_GETTERS.has(descriptor.get))
      value = descriptor.get();
    else return undefined;
  }
  return { value };
}

/**
 * Whether the value at `path` has a `[Symbol.for("Jupyter.display")]` method (a data
 * property along its prototype chain): the kernel runs that method, in a cell, only then.
 */
function offersDisplay(root: object, path: readonly string[]): boolean {
  const found = resolve(root, path);
  if (found === undefined) return false;
  const { value } = found;
  if ((typeof value !== "object" && typeof value !== "function") || value === null) return false;
  let level: object | null = value;
  for (let depth = 0; level !== null && depth < 64; depth++) {
    if (util.types.isProxy(level)) return false;
    const descriptor = Reflect.getOwnPropertyDescriptor(level, JUPYTER_DISPLAY);
    if (descriptor !== undefined) return typeof descriptor.value === "function";
    level = Reflect.getPrototypeOf(level);
  }
  return false;
}

function complete(root: object, request: Introspect): Answer {
  const found = resolve(root, request.path);
  if (found === undefined || found.value === null || found.value === undefined) return none;
  const names = new Set<string>();
  let level: unknown =
    typeof found.value === "object" || typeof found.value === "function"
      ? found.value
      : Object(found.value);
  for (let depth = 0; level !== null && depth < 64; depth++) {
    if (util.types.isProxy(level)) break;
    for (const name of Object.getOwnPropertyNames(level as object)) {
      if (name.startsWith(request.prefix) && IDENTIFIER.test(name) && name.length <= 256)
        names.add(name);
    }
    level = Reflect.getPrototypeOf(level as object);
  }
  return { ...none, matches: [...names].sort().slice(0, MAX_MATCHES) };
}

function inspect(root: object, request: Introspect): Answer {
  const found = resolve(root, request.path);
  if (found === undefined) return none;
  const { value } = found;
  if (typeof value === "function") {
    const source = Function.prototype.toString.call(value);
    const head = source.split("\n", 1)[0] ?? "";
    const kind = source.startsWith("class") ? "class" : "function";
    return {
      ...none,
      found: true,
      text: `${kind}\n${head.length > 200 ? `${head.slice(0, 200)}…` : head}`,
    };
  }
  const shown = util.inspect(value, {
    depth: 2,
    customInspect: false,
    getters: false,
    showProxy: true,
    maxArrayLength: 20,
    maxStringLength: 500,
    breakLength: 80,
  });
  let kind: string = value === null ? "null" : typeof value;
  if (typeof value === "object" && value !== null) {
    const maker = descriptorOf(value, "constructor");
    const name =
      maker !== undefined && typeof maker.value === "function"
        ? Reflect.getOwnPropertyDescriptor(maker.value, "name")?.value
        : undefined;
    if (typeof name === "string" && name !== "") kind = name;
  }
  return { ...none, found: true, text: `${kind}\n${shown}`.slice(0, MAX_TEXT) };
}
