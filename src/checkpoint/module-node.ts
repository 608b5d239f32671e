/**
 * The module node: a value the worker got from a module, stored as a reference and loaded
 * again on restore instead of being encoded.
 *
 * `[NodeKind.module, specifier, export | null]` for an `import()`, followed by `"require"`
 * for a value from `require` (restored by `require`, so it is the module cache's object),
 * or by `"import", attributes` for an import with attributes (`with { type: "json" }`),
 * then, for a property of an export (`readFile` of fs's `promises`), by `null` where no
 * attributes were and the property's name.
 */
import type { ModuleBinding } from "./encode.ts";
import { NodeKind } from "./format.ts";
import { asString, expect } from "./validate.ts";

export function moduleNode(binding: ModuleBinding): unknown[] {
  const node: unknown[] = [NodeKind.module, binding.specifier, binding.export ?? null];
  const attributes =
    binding.attributes !== undefined && Object.keys(binding.attributes).length > 0
      ? { ...binding.attributes }
      : null;
  if (binding.via === "require") node.push("require");
  else if (attributes !== null || binding.member !== undefined) node.push("import");
  if (binding.member !== undefined) node.push(attributes, binding.member);
  else if (attributes !== null) node.push(attributes);
  return node;
}

/** Reads a module node back; a malformed one is `CHECKPOINT_INVALID`. */
export function readModuleNode(node: readonly unknown[]): ModuleBinding {
  const specifier = asString(node[1], "module specifier");
  const binding: ModuleBinding = { specifier };
  if (node[2] !== null) binding.export = asString(node[2], "module export");
  const via = node[3];
  expect(via === undefined || via === "require" || via === "import", "unknown module loader");
  if (via === "require") binding.via = "require";
  const attributes = node[4];
  if (attributes !== undefined && attributes !== null) {
    expect(
      typeof attributes === "object" &&
        attributes !== null &&
        !Array.isArray(attributes) &&
        Object.values(attributes).every((value) => typeof value === "string"),
      "module attributes are not a string map",
    );
    binding.attributes = { ...(attributes as Record<string, string>) };
  }
  if (node[5] !== undefined) {
    expect(binding.export !== undefined, "a module member needs an export");
    binding.member = asString(node[5], "module member");
  }
  return binding;
}

/** The value a binding names in a loaded module (its namespace or `module.exports`). */
export function exportOf(loaded: unknown, binding: ModuleBinding): unknown {
  if (binding.export === undefined) return loaded;
  const exported = (loaded as Record<string, unknown>)[binding.export];
  return binding.member === undefined
    ? exported
    : (exported as Record<string, unknown> | undefined)?.[binding.member];
}

/** How a module is described in a failure reason: `join from "node:path"`. */
export function describeModule(binding: ModuleBinding): string {
  const name =
    binding.member === undefined ? binding.export : `${binding.export}.${binding.member}`;
  const what =
    name === undefined ? `"${binding.specifier}"` : `${name} from "${binding.specifier}"`;
  return binding.via === "require" ? `${what} (require)` : what;
}

/** One load per module and loader, however many of its exports the namespace holds. */
export function moduleKey(binding: ModuleBinding): string {
  return JSON.stringify([binding.via ?? "import", binding.specifier, binding.attributes ?? {}]);
}
