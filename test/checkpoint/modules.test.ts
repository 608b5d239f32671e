import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { encodeNamespace, type ModuleBinding } from "../../src/checkpoint/index.ts";
import { namespaceOf, restoreInto } from "./helpers.ts";

describe("checkpoint: values imported by the user are restored by importing again", () => {
  it("re-imports a module namespace and a named export, keeping identity inside data", async () => {
    const ns = namespaceOf("");
    const recorded = new Map<unknown, ModuleBinding>([
      [path, { specifier: "node:path" }],
      [path.join, { specifier: "node:path", export: "join" }],
    ]);
    const entries: Array<[string, unknown]> = [
      ["pathModule", path],
      ["join", path.join],
      ["tools", { join: path.join }],
      ...ns.entries,
    ];
    const encoded = encodeNamespace(entries, { moduleOf: (value) => recorded.get(value) });
    expect(encoded.uncaptured).toEqual([]);

    const loaded: string[] = [];
    const restored = await restoreInto(encoded.data, {
      loadModule: async (specifier) => {
        loaded.push(specifier);
        return import(specifier);
      },
    });
    expect(loaded).toEqual(["node:path"]);
    expect(restored.run("join('a', 'b')")).toBe(`a${path.sep}b`);
    expect(restored.run("pathModule.basename('/x/y.txt')")).toBe("y.txt");
    expect(restored.run("tools.join === join")).toBe(true);
  });

  it("reports an import that cannot be loaded without failing the other names", async () => {
    const encoded = encodeNamespace(
      [
        ["join", path.join],
        ["n", 1],
      ],
      {
        moduleOf: (value) =>
          value === path.join ? { specifier: "node:path", export: "join" } : undefined,
      },
    );

    const withoutLoader = await restoreInto(encoded.data);
    expect(withoutLoader.values.get("n")).toBe(1);
    expect(withoutLoader.failed).toEqual([
      { name: "join", reason: 'import of join from "node:path" needs a loadModule callback' },
    ]);

    const failing = await restoreInto(encoded.data, {
      loadModule: async () => {
        throw new Error("network down");
      },
    });
    expect(failing.failed[0]!.reason).toBe(
      'import of join from "node:path" failed: Error: network down',
    );
  });
});
