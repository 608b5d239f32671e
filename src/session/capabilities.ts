/**
 * The host's end of capabilities: host functions a session grants its cells. A cell's
 * `notify(x)` arrives as a `capability_call`; the host looks the name up in what this
 * execution was granted (the worker is untrusted: a name it was not granted is refused
 * here too), runs the function, and sends back its result or its error's code and
 * message — never the host's stack, which is the host's business.
 */
import { CapabilityError } from "../errors.ts";
import { DEFAULT_PROTECTED_NAMES } from "../prepare/default-protected-names.ts";
import type { MessageOf } from "../protocol/messages.ts";
import { plainDataProblem } from "../protocol/plain-data.ts";

/**
 * A host function a cell may call as `await name(...args)`. Arguments arrive as plain
 * data (MessagePack: primitives, arrays, plain objects, Uint8Array, Date); the result
 * must be plain data too. A thrown error reaches the cell as an `Error` with the same
 * message and `code` (the error's string `code`, else `CAPABILITY_FAILED`).
 */
// biome-ignore lint/suspicious/noExplicitAny: a user's function of any parameter types must be assignable
export type Capability = (...args: any[]) => unknown;

/** Capabilities by the name cells call them under. */
export type Capabilities = Readonly<Record<string, Capability>>;

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
/** Names that mean something else in every cell; `fetch` may be replaced (see permissions.net). */
const NOT_GRANTABLE = new Set([
  ...DEFAULT_PROTECTED_NAMES,
  "_",
  "_error",
  "global",
  "globalThis",
  "undefined",
  "NaN",
  "Infinity",
  "eval",
]);

/**
 * Checks the names of a capabilities map.
 * @throws CapabilityError (CAPABILITY_INVALID_NAME) for a name that is not an identifier,
 *   is one of Capsule's own names, or whose value is not a function.
 */
export function checkCapabilities(capabilities: Capabilities | undefined): void {
  for (const [name, value] of Object.entries(capabilities ?? {})) {
    if (!IDENTIFIER.test(name) || NOT_GRANTABLE.has(name)) {
      throw new CapabilityError(
        "CAPABILITY_INVALID_NAME",
        `cannot grant a capability named ${JSON.stringify(name)}: it must be an identifier other than ${[...NOT_GRANTABLE].join(", ")}`,
      );
    }
    if (typeof value !== "function") {
      throw new CapabilityError(
        "CAPABILITY_INVALID_NAME",
        `capability ${name} must be a function, got ${typeof value}`,
      );
    }
  }
}

/** The reply to one call: what goes back to the worker. */
export type CapabilityReply = Omit<MessageOf<"capability_result">, "type" | "seq" | "call_id">;

/**
 * Runs the call against `granted` and says what to send back. Never throws: every
 * failure, the host function's included, is a reply the cell sees as an error.
 */
export async function runCapabilityCall(
  call: MessageOf<"capability_call">,
  granted: Capabilities,
): Promise<CapabilityReply> {
  const capability = Object.hasOwn(granted, call.name) ? granted[call.name] : undefined;
  if (capability === undefined) {
    return {
      error: {
        code: "CAPABILITY_UNKNOWN",
        message: `capability ${call.name} is not granted to this execution`,
      },
    };
  }
  let value: unknown;
  try {
    value = await capability(...call.args);
  } catch (error) {
    return { error: describeHostError(error) };
  }
  const problem = plainDataProblem(value, `the result of ${call.name}()`);
  if (problem !== undefined) {
    return { error: { code: "CAPABILITY_BAD_RESULT", message: problem } };
  }
  return value === undefined ? {} : { value };
}

/** A host function's failure as the cell may see it: its message and code, no stack. */
export function describeHostError(error: unknown): { code: string; message: string } {
  const code =
    typeof error === "object" && error !== null && typeof Reflect.get(error, "code") === "string"
      ? String(Reflect.get(error, "code"))
      : "CAPABILITY_FAILED";
  const message = error instanceof Error ? error.message : String(error);
  return { code, message };
}
