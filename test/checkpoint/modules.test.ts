import { createRequire } from "node:module";
import * as path from "node:path";
import { encode } from "@msgpack/msgpack";
import { describe, expect, it } from "vitest";
import { sealCheckpoint } from "../../src/checkpoint/format.ts";
import { encodeNamespace, type ModuleBinding } from "../../src/checkpoint/index.ts";
import { ModuleRegistry } from "../../workers/modules.ts";
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

describe("checkpoint: module references say how the module was obtained", () => {
  it("restores a required module by require and an imported one by import, separately", async () => {
    const fakeExports = { helper: () => "cjs" };
    const recorded = new Map<unknown, ModuleBinding>([
      [fakeExports, { specifier: "./helpers.cjs", via: "require" }],
      [fakeExports.helper, { specifier: "./helpers.cjs", export: "helper", via: "require" }],
      [path.basename, { specifier: "node:path", export: "basename" }],
      [path.join, { specifier: "node:path", export: "join", via: "require" }],
    ]);
    const encoded = encodeNamespace(
      [
        ["helpers", fakeExports],
        ["helper", fakeExports.helper],
        ["basename", path.basename],
        ["join", path.join],
      ],
      { moduleOf: (value) => recorded.get(value) },
    );
    const loads: string[] = [];
    const restored = await restoreInto(encoded.data, {
      loadModule: async (specifier, binding) => {
        loads.push(`${binding.via ?? "import"} ${specifier}`);
        if (specifier === "./helpers.cjs") return fakeExports;
        return binding.via === "require" ? path : import(specifier);
      },
    });
    expect(restored.failed).toEqual([]);
    // One load per module and loader, however many exports are used.
    expect(loads.sort()).toEqual([
      "import node:path",
      "require ./helpers.cjs",
      "require node:path",
    ]);
    expect(restored.values.get("helpers")).toBe(fakeExports);
    expect(restored.run("helper === helpers.helper && helper()")).toBe("cjs");
    expect(restored.values.get("join")).toBe(path.join);
  });

  it("keeps import attributes, so a JSON module is imported again as JSON", async () => {
    const data = { answer: 42 };
    const encoded = encodeNamespace([["config", data]], {
      moduleOf: (value) =>
        value === data
          ? { specifier: "./config.json", export: "default", attributes: { type: "json" } }
          : undefined,
    });
    const seen: ModuleBinding[] = [];
    const restored = await restoreInto(encoded.data, {
      loadModule: async (_specifier, binding) => {
        seen.push(binding);
        return { default: data };
      },
    });
    expect(seen).toEqual([
      { specifier: "./config.json", export: "default", attributes: { type: "json" } },
    ]);
    expect(restored.values.get("config")).toBe(data);
  });

  it("refuses a module node with an unknown loader as CHECKPOINT_INVALID", async () => {
    const data = sealCheckpoint(
      encode({
        kind: "full",
        names: ["m", [0, 0]],
        nodes: [["I", "node:path", null, "eval"]],
        removed: [],
        uncaptured: [],
      }),
    );
    await expect(restoreInto(data, { loadModule: async () => ({}) })).rejects.toMatchObject({
      code: "CHECKPOINT_INVALID",
      message: expect.stringContaining("unknown module loader"),
    });
  });
});

describe("ModuleRegistry: what the session's require and import() record", () => {
  it("records a required module and its data exports, without running a getter", () => {
    let getterCalls = 0;
    const exports = {
      join: () => "joined",
      nested: { deep: true },
      count: 3,
      get lazy() {
        getterCalls++;
        return () => "lazy";
      },
    };
    const registry = new ModuleRegistry(process.cwd());
    const fakeRequire = Object.assign((_id: string) => exports, {
      resolve: require.resolve,
      cache: {},
      main: undefined,
      extensions: require.extensions,
    }) as unknown as NodeJS.Require;
    const tracking = registry.trackingRequire(fakeRequire);
    expect(tracking("some-package")).toBe(exports);
    expect(getterCalls).toBe(0);
    expect(registry.refOf(exports)).toEqual({ specifier: "some-package", via: "require" });
    expect(registry.refOf(exports.join)).toEqual({
      specifier: "some-package",
      export: "join",
      via: "require",
    });
    expect(registry.refOf(exports.nested)).toEqual({
      specifier: "some-package",
      export: "nested",
      via: "require",
    });
    expect(registry.refOf(3)).toBeUndefined();
  });

  it("records one level below an exported object, after the exports themselves", () => {
    const registry = new ModuleRegistry(process.cwd());
    const tracking = registry.trackingRequire(createRequire(path.join(process.cwd(), "x.js")));
    const fs = tracking("node:fs") as typeof import("node:fs");
    const cjsPath = tracking("node:path") as typeof path;
    expect(registry.refOf(fs.promises.readFile)).toEqual({
      specifier: "node:fs",
      export: "promises",
      member: "readFile",
      via: "require",
    });
    // path.posix is path itself on POSIX: join keeps its own name, not posix.join.
    expect(registry.refOf(cjsPath.join)).toEqual({
      specifier: "node:path",
      export: "join",
      via: "require",
    });
  });

  it("restores a member of an export from the module it was recorded from", async () => {
    const fs = createRequire(import.meta.url)("node:fs") as typeof import("node:fs");
    const encoded = encodeNamespace([["readFile", fs.promises.readFile]], {
      moduleOf: (value) =>
        value === fs.promises.readFile
          ? { specifier: "node:fs", export: "promises", member: "readFile", via: "require" }
          : undefined,
    });
    const restored = await restoreInto(encoded.data, { loadModule: async () => fs });
    expect(restored.failed).toEqual([]);
    expect(restored.values.get("readFile")).toBe(fs.promises.readFile);
  });

  it("loads a required module again through the same require: the object a later require returns", async () => {
    const registry = new ModuleRegistry(process.cwd());
    const tracking = registry.trackingRequire(createRequire(path.join(process.cwd(), "x.js")));
    const restored = await registry.load("node:path", { specifier: "node:path", via: "require" });
    const cjsPath: unknown = tracking("node:path");
    expect(restored).toBe(cjsPath);
    // An ESM import of the same specifier is the namespace, a different object.
    const namespace = await registry.load("node:path", { specifier: "node:path" });
    expect(namespace).not.toBe(cjsPath);
    expect((namespace as { default: unknown }).default).toBe(cjsPath);
    expect(registry.refOf(namespace)).toEqual({ specifier: "node:path" });
  });

  it("resolves import() from the module root, as the cell does", async () => {
    const registry = new ModuleRegistry(path.resolve("test/checkpoint"));
    const helpers = (await registry.load("./helpers.ts", { specifier: "./helpers.ts" })) as {
      namespaceOf: unknown;
    };
    expect(typeof helpers.namespaceOf).toBe("function");
    expect(registry.refOf(helpers.namespaceOf)).toEqual({
      specifier: "./helpers.ts",
      export: "namespaceOf",
    });
  });
});
