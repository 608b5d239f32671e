/**
 * The worker build: plain JavaScript with `.js` specifiers that Node runs without its
 * TypeScript stripper, and a manifest that makes the spawner refuse a build whose sources
 * changed. Each test builds a small package of its own in a temporary directory and runs
 * the output in a real Node process.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  BUILD_DIR,
  currentBuildDir,
  currentStaleReason,
  freshWorkerBuild,
  REBUILD_ENV,
} from "../../src/build/manifest.ts";
import { emitModule } from "../../src/build/tree-build.ts";
import { buildWorkers } from "../../src/build/worker-build.ts";
import { WorkerBuildError } from "../../src/errors.ts";

let root: string;

function write(relative: string, content: string): void {
  const file = path.join(root, relative);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
}

beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), "capsule-build-"));
  write("package.json", JSON.stringify({ type: "module" }));
  write(
    "workers/entry.ts",
    [
      'import type { Shape } from "../src/shape.ts";',
      'import { area } from "../src/shape.ts";',
      'export * from "./reexported.ts";',
      "const square: Shape = { side: 3 };",
      'const late: { twice(n: number): number } = await import("./late.ts");',
      'const url = new URL("./thread.ts", import.meta.url);',
      "console.log(JSON.stringify({ area: area(square), twice: late.twice(2), thread: url.pathname.endsWith('/thread.js') }));",
    ].join("\n"),
  );
  write(
    "src/shape.ts",
    "export interface Shape { side: number }\nexport function area(s: Shape): number { return s.side ** 2; }\n",
  );
  write("workers/reexported.ts", "export const seven: number = 7;\n");
  write("workers/late.ts", "export function twice(n: number): number { return n * 2; }\n");
  write("workers/thread.ts", "export const onThread: boolean = true;\n");
  write("workers/unreached.ts", "export const never: number = 0;\n");
});

afterEach(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

function build(): { buildDir: string; modules: string[] } {
  return buildWorkers({ root, entries: ["workers/entry.ts"], extraSources: [] });
}

describe("worker build", () => {
  it("emits every module the entry reaches, and the output runs as plain JavaScript", () => {
    const { buildDir, modules } = build();
    expect(modules).toEqual([
      "src/shape.ts",
      "workers/entry.ts",
      "workers/late.ts",
      "workers/reexported.ts",
      "workers/thread.ts",
    ]);
    expect(currentBuildDir(path.join(root, BUILD_DIR))).toEqual({ dir: buildDir });
    const entry = path.join(buildDir, "workers", "entry.js");
    // --no-experimental-strip-types: a `.ts` file left in the graph would fail to load.
    const printed = execFileSync(process.execPath, ["--no-experimental-strip-types", entry], {
      encoding: "utf8",
    });
    expect(JSON.parse(printed)).toEqual({ area: 9, twice: 4, thread: true });
  });

  it("keeps every line and column of the source, so stack traces point at the .ts lines", () => {
    const source = "const a: number = 1;\nfunction f(x: string): never { throw new Error(x); }\n";
    const { code } = emitModule(source, "x.ts");
    expect(code.split("\n").map((line) => line.length)).toEqual(
      source.split("\n").map((line) => line.length),
    );
    expect(code).toContain("throw new Error(x)");
  });

  it("refuses a relative import that does not name its .ts file", () => {
    expect(() => emitModule('import { a } from "./a";', "x.ts")).toThrow(/name the \.ts source/);
  });

  it("reports a changed, a removed, and a missing build as stale, and an untouched one as fresh", () => {
    expect(currentStaleReason(root)).toMatch(/there is no build/);
    build();
    expect(currentStaleReason(root)).toBeUndefined();
    // A file the build never reached does not make it stale.
    write("workers/unreached.ts", "export const never: number = 1;\n");
    expect(currentStaleReason(root)).toBeUndefined();
    write("src/shape.ts", "export function area(): number { return 0; }\n");
    expect(currentStaleReason(root)).toBe("src/shape.ts changed since the build");
    build();
    fs.rmSync(path.join(root, "workers/late.ts"));
    expect(currentStaleReason(root)).toBe("workers/late.ts was removed since the build");
  });

  it("trusts size and mtime only for sources older than the build's timestamp tick", () => {
    // An hour old: the check may skip hashing it while size and mtime are unchanged.
    const old = new Date(Date.now() - 3_600_000);
    fs.utimesSync(path.join(root, "src/shape.ts"), old, old);
    const { buildDir } = build();
    const manifest = JSON.parse(fs.readFileSync(path.join(buildDir, "manifest.json"), "utf8"));
    expect(Object.keys(manifest.stats)).toEqual(["src/shape.ts"]);
    // Written just now, like every other source: an edit of the same size that keeps its
    // mtime (one timestamp tick) is still caught, because the check hashes it.
    const late = path.join(root, "workers/late.ts");
    const { mtime } = fs.statSync(late);
    write("workers/late.ts", "export function twice(n: number): number { return n * 3; }\n");
    fs.utimesSync(late, mtime, mtime);
    expect(currentStaleReason(root)).toBe("workers/late.ts changed since the build");
  });

  it("makes the spawner's check fail with WORKER_BUILD_STALE, naming the file", async () => {
    build();
    write("workers/reexported.ts", "export const seven: number = 8;\n");
    // The suite's own setting would rebuild instead (see test/global-setup.ts).
    const setting = process.env[REBUILD_ENV];
    delete process.env[REBUILD_ENV];
    const failure = await freshWorkerBuild(root)
      .catch((error: unknown) => error)
      .finally(() => {
        if (setting !== undefined) process.env[REBUILD_ENV] = setting;
      });
    expect(failure).toBeInstanceOf(WorkerBuildError);
    expect(failure).toMatchObject({ code: "WORKER_BUILD_STALE", retryable: false });
    expect((failure as Error).message).toContain("workers/reexported.ts changed since the build");
  });

  it("never rewrites a build in place: a new build gets its own directory, the old one stays", () => {
    const first = build();
    const firstEntry = fs.readFileSync(path.join(first.buildDir, "workers", "entry.js"), "utf8");
    write("src/shape.ts", "export function area(): number { return 0; }\n");
    const second = build();
    expect(second.buildDir).not.toBe(first.buildDir);
    expect(currentBuildDir(path.join(root, BUILD_DIR))).toEqual({ dir: second.buildDir });
    // A worker that started from the first build just before can still load all of it.
    expect(fs.readFileSync(path.join(first.buildDir, "workers", "entry.js"), "utf8")).toBe(
      firstEntry,
    );
    // The same sources build to the same directory again, without rewriting it.
    expect(build().buildDir).toBe(second.buildDir);
    expect(
      fs.readdirSync(path.join(root, BUILD_DIR)).filter((name) => name.startsWith(".")),
    ).toEqual([]);
  });
});

describe("worker build: the service thread", () => {
  it("is bundled into one CommonJS file that requires only Node's built-ins, named so by its starter, and runs", () => {
    write(
      "workers/executors/service-thread.ts",
      'import { basename } from "node:path";\nimport { area } from "../../src/shape.ts";\nconsole.log(JSON.stringify({ area: area({ side: 4 }), file: basename(__filename) }));\n',
    );
    write(
      "workers/session-worker.ts",
      'export const thread = new URL("./executors/service-thread.ts", import.meta.url);\n',
    );
    const report = buildWorkers({ root, entries: ["workers/session-worker.ts"], extraSources: [] });
    expect(report.bundled).toMatchObject({ "workers/executors/service-thread.ts": true });
    const executors = path.join(report.buildDir, "workers", "executors");
    expect(fs.readdirSync(executors)).toEqual(["service-thread.cjs"]);
    const thread = path.join(executors, "service-thread.cjs");
    const code = fs.readFileSync(thread, "utf8");
    expect(code).not.toMatch(/^\s*(import|export)\s/m);
    const required = [...code.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]);
    expect(required).toEqual(["node:path"]);
    const printed = execFileSync(process.execPath, ["--no-experimental-strip-types", thread], {
      encoding: "utf8",
    });
    expect(JSON.parse(printed)).toEqual({ area: 16, file: "service-thread.cjs" });
    // The entry that starts the thread names the CommonJS file, which exists.
    const starter = path.join(report.buildDir, "workers", "session-worker.js");
    const named = /new URL\("([^"]+)", import\.meta\.url\)/.exec(fs.readFileSync(starter, "utf8"));
    expect(named?.[1]).toBe("./executors/service-thread.cjs");
    expect(fs.existsSync(path.join(path.dirname(starter), named![1]!))).toBe(true);
  });
});

describe("worker build: the main thread's entry", () => {
  it("is bundled apart from the rest of the thread, which leaves outside what the codec and the guard share with it; the codec is bundled without what it shares", () => {
    write("src/errors.ts", "export class Shared {}\n");
    write("src/checkpoint/inner.ts", "export const made = (value: object): object => value;\n");
    write(
      "src/checkpoint/index.ts",
      'import { Shared } from "../errors.ts";\nimport { made } from "./inner.ts";\nexport const make = (): Shared => made(new Shared()) as Shared;\n',
    );
    write("workers/builtin-guard.ts", "export const guarded: boolean = true;\n");
    write(
      "workers/session-worker.ts",
      'const first: number = 1;\nconsole.log(first);\nawait import("./session-main.ts");\n',
    );
    write(
      "workers/session-main.ts",
      [
        'import { createRequire } from "node:module";',
        'import { fileURLToPath } from "node:url";',
        'import { Shared } from "../src/errors.ts";',
        'const url = new URL("../src/checkpoint/index.ts", import.meta.url);',
        "const codec = createRequire(import.meta.url)(fileURLToPath(url)) as { make(): unknown };",
        'const guard = (await import("./builtin-guard.ts")) as { guarded: boolean };',
        "console.log(JSON.stringify({ same: codec.make() instanceof Shared, guarded: guard.guarded }));",
      ].join("\n"),
    );
    const report = buildWorkers({
      root,
      entries: ["workers/session-worker.ts", "workers/builtin-guard.ts"],
      extraSources: [],
    });
    expect(report.bundled).toEqual({
      "workers/session-worker.ts": true,
      "workers/session-main.ts": true,
      "src/checkpoint/index.ts": true,
    });
    // The codec is one file too, but what the thread also imports stays outside it.
    const codec = fs.readFileSync(
      path.join(report.buildDir, "src", "checkpoint", "index.js"),
      "utf8",
    );
    expect(codec).toContain('from "../errors.js"');
    expect(codec).not.toContain("./inner.js");
    const entry = path.join(report.buildDir, "workers", "session-worker.js");
    // The entry runs its own code before it loads the rest of the thread.
    expect(fs.readFileSync(entry, "utf8")).toContain('import("./session-main.js")');
    const main = fs.readFileSync(path.join(report.buildDir, "workers", "session-main.js"), "utf8");
    expect(main).toContain('from "../src/errors.js"');
    expect(main).toContain('import("./builtin-guard.js")');
    const printed = execFileSync(process.execPath, ["--no-experimental-strip-types", entry], {
      encoding: "utf8",
    });
    // One class, so the codec's instance is the entry's: the module stayed outside.
    expect(printed.split("\n").slice(0, 2)).toEqual([
      "1",
      JSON.stringify({ same: true, guarded: true }),
    ]);
  });
});
