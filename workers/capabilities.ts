/**
 * The cell's end of capabilities: each granted name is an async function in the
 * namespace whose call becomes a `capability_call` to the host and whose promise settles
 * with the host's `capability_result`. Arguments are checked here, so a function or a
 * class instance in them is the cell's error (CAPABILITY_BAD_ARGUMENT) and never leaves
 * the worker. What the cell receives — values, errors, promises — is made in the cell's
 * own realm, so `instanceof Error`, `Array.isArray` and `await` behave as for its own.
 */
import vm from "node:vm";
import type { MessageOf } from "../src/protocol/messages.ts";
import { plainDataProblem } from "../src/protocol/plain-data.ts";
import { fetchThroughHost } from "./fetch-capability.ts";

/** The constructors of one `vm` context, to build what a cell receives in its own realm. */
interface Realm {
  Error: ErrorConstructor;
  Promise: PromiseConstructor;
  Object: ObjectConstructor;
  Array: ArrayConstructor;
  Uint8Array: Uint8ArrayConstructor;
  Date: DateConstructor;
}

/** What a pending call needs to settle its promise. */
interface PendingCall {
  executionId: string;
  resolve(value: unknown): void;
  reject(error: Error): void;
  realm: Realm;
}

export interface CapabilityHost {
  /** Sends a message to the host (through the service thread). */
  send(message: MessageOf<"capability_call">): void;
  /** The running cell's id and granted names, or undefined between cells. */
  running(): { id: string; capabilities: ReadonlySet<string> } | undefined;
}

/** Where a context receives the functions (see `SessionContext.protect`). */
export interface ProtectableContext {
  readonly context: vm.Context;
  /** Defines a Capsule-owned, non-writable global; false when the name is the user's. */
  protect(name: string, value: unknown): boolean;
}

export class CapabilityCalls {
  readonly #host: CapabilityHost;
  readonly #pending = new Map<string, PendingCall>();
  readonly #defined = new WeakMap<vm.Context, Set<string>>();
  #count = 0;

  constructor(host: CapabilityHost) {
    this.#host = host;
  }

  /**
   * Makes every name in `names` callable in the context (once per context: the functions
   * look up what the running cell was granted at call time, so a later cell without the
   * grant gets CAPABILITY_UNKNOWN instead of a stale function).
   * @returns names that could not be defined because user code holds them.
   */
  define(target: ProtectableContext, names: Iterable<string>): string[] {
    let defined = this.#defined.get(target.context);
    if (defined === undefined) {
      defined = new Set();
      this.#defined.set(target.context, defined);
    }
    const taken: string[] = [];
    const fresh = [...names].filter((name) => !defined.has(name));
    // Not for every cell: reading the realm compiles and runs a script in the context
    // (~20 µs), and most cells bring no name that is not defined already.
    if (fresh.length === 0) return taken;
    const realm = realmOf(target.context);
    for (const name of fresh) {
      if (defined.has(name)) continue;
      const call =
        name === "fetch"
          ? fetchThroughHost((args) => this.#call(realm, name, args))
          : (...args: unknown[]) => this.#call(realm, name, args);
      Object.defineProperty(call, "name", { value: name });
      if (target.protect(name, call)) defined.add(name);
      else taken.push(name);
    }
    return taken;
  }

  /** The host's answer to a call; an answer for a call nobody waits for is dropped. */
  answer(message: MessageOf<"capability_result">): void {
    const pending = this.#pending.get(message.call_id);
    if (pending === undefined) return;
    this.#pending.delete(message.call_id);
    if (message.error !== undefined) {
      pending.reject(capabilityError(pending.realm, message.error.code, message.error.message));
    } else pending.resolve(intoRealm(pending.realm, message.value));
  }

  /** Rejects the calls of cell `executionId` (it ended, was cancelled or timed out). */
  rejectFor(executionId: string | undefined, code: string, reason: string): void {
    for (const [id, pending] of this.#pending) {
      if (executionId !== undefined && pending.executionId !== executionId) continue;
      this.#pending.delete(id);
      pending.reject(capabilityError(pending.realm, code, reason));
    }
  }

  #call(realm: Realm, name: string, args: unknown[]): Promise<unknown> {
    return new realm.Promise<unknown>((resolve, reject) => {
      const running = this.#host.running();
      if (running === undefined) {
        reject(
          capabilityError(
            realm,
            "CAPABILITY_UNAVAILABLE",
            `${name}() can only be called while a cell runs`,
          ),
        );
        return;
      }
      if (!running.capabilities.has(name)) {
        reject(
          capabilityError(
            realm,
            "CAPABILITY_UNKNOWN",
            `capability ${name} is not granted to this execution`,
          ),
        );
        return;
      }
      const problem = plainDataProblem(args, "args");
      if (problem !== undefined) {
        reject(capabilityError(realm, "CAPABILITY_BAD_ARGUMENT", `${name}(): ${problem}`));
        return;
      }
      const id = `cap-${++this.#count}`;
      this.#pending.set(id, { executionId: running.id, resolve, reject, realm });
      this.#host.send({ type: "capability_call", id, execution_id: running.id, name, args });
    });
  }
}

function realmOf(context: vm.Context): Realm {
  return vm.runInContext("({ Error, Promise, Object, Array, Uint8Array, Date })", context) as Realm;
}

/**
 * An Error of the cell's realm carrying the host's message and code. Its stack is the
 * one line of name and message: the host's frames are the host's business, and the
 * worker's own frames would only confuse the cell's author.
 */
function capabilityError(realm: Realm, code: string, message: string): Error {
  const error = new realm.Error(message);
  Object.defineProperty(error, "name", {
    value: "CapabilityError",
    configurable: true,
    writable: true,
  });
  Object.defineProperty(error, "code", {
    value: code,
    enumerable: true,
    configurable: true,
    writable: true,
  });
  error.stack = `CapabilityError: ${message}`;
  return error;
}

/** Rebuilds decoded MessagePack data with the cell realm's constructors. */
function intoRealm(realm: Realm, value: unknown): unknown {
  if (value === null || typeof value !== "object") return value;
  if (value instanceof Uint8Array) return new realm.Uint8Array(value);
  if (value instanceof Date) return new realm.Date(value.getTime());
  if (Array.isArray(value)) return realm.Array.from(value, (item) => intoRealm(realm, item));
  const object = new realm.Object() as Record<string, unknown>;
  for (const [key, item] of Object.entries(value)) object[key] = intoRealm(realm, item);
  return object;
}
