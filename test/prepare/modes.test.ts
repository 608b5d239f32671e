import { describe, expect, it } from "vitest";
import { detectMode, prepareCell } from "../../src/prepare/index.ts";
import type { ExecutionMode } from "../../src/protocol/messages.ts";

function expectMode(mode: ExecutionMode, cells: string[]): void {
  for (const cell of cells) {
    expect(detectMode(cell), cell).toBe(mode);
    expect(prepareCell(cell).mode, cell).toBe(mode);
  }
}

describe("mode detection", () => {
  it("routes blocking calls to blocking_sync", () => {
    expectMode("blocking_sync", [
      "const fs = require('node:fs')\nfs.readFileSync('/etc/hosts', 'utf8')",
      "require('node:child_process').execSync('ls')",
      "const { writeFileSync } = require('node:fs'); writeFileSync('/tmp/x', 'y')",
      "fs['readdirSync']('.')",
      "Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10)",
      "const name = input('name? ')",
      "function ask() { return input('q') }",
      "fs?.statSync('.')",
      "const data: string = fs.readFileSync('/x') as string",
    ]);
  });

  it("routes unbounded loops to blocking_sync, wherever they are", () => {
    expectMode("blocking_sync", [
      "while (true) { if (done()) break }",
      "for (;;) { tick() }",
      "do { x++ } while (1)",
      "while (!0) {}",
      "while ('yes') {}",
      "for (let i = 0; true; i++) {}",
      "function spin() { while (true) {} }",
      "while (true) { await tick() }",
    ]);
  });

  it("does not call bounded loops or non-blocking calls blocking", () => {
    expectMode("simple_sync", [
      "while (i < 10) i++",
      "for (let i = 0; i < 3; i++) {}",
      "do {} while (false)",
      "while (0) {}",
      "while (!1) {}",
      "for (const x of xs) {}",
      "sync()",
      "fs.readFile('/x', () => {})",
      "Atomics.notify(view, 0)",
      "Atomics.waitAsync(view, 0, 0)",
      "const Sync = 1",
      "(function () {\n  function input(q) { return q }\n  input('local')\n})()",
    ]);
  });

  it("treats an awaited input() as asynchronous", () => {
    expectMode("top_level_await", ["const name = await input('name? ')"]);
  });

  it("routes top-level await, for await and imports to top_level_await", () => {
    expectMode("top_level_await", [
      "await fetchIt()",
      "const r = await Promise.resolve(1)\nr",
      "for await (const chunk of stream) {}",
      "if (ready) { await go() }",
      "import { join } from 'node:path'\njoin('a')",
      "import 'node:os'",
      "const x: number = await load<number>()",
      "new Promise((resolve) => resolve(1)).then(() => 1)\nawait 0",
    ]);
  });

  it("does not count await inside functions as top-level", () => {
    expectMode("simple_sync", [
      "async function f() { await g() }",
      "const h = async () => { for await (const x of y) {} }",
      "const v = import('node:path')\n1",
    ]);
  });

  it("routes a cell whose value is statically a promise to async_def", () => {
    expectMode("async_def", [
      "async function load() { return 1 }\nload()",
      "const go = async () => 1\ngo()",
      "const run = async function () {}\nrun()",
      "fetchIt().then((r) => r.json())",
      "p.catch(() => null)",
      "task.finally(cleanup)",
      "new Promise((resolve) => setTimeout(resolve, 10))",
      "Promise.all([a(), b()])",
      "Promise.allSettled([])",
      "Promise.race([x])",
      "Promise.any([x])",
      "Promise.resolve(1)",
      "Promise.reject(new Error('x'))",
      "(async () => { await 1 })()",
      "(async function () {})()",
      "setup(), Promise.resolve(2)",
    ]);
  });

  it("does not call a value async_def when it is not statically a promise", () => {
    expectMode("simple_sync", [
      "function load() { return 1 }\nload()",
      "(() => 1)()",
      "Promise",
      "const p = Promise.resolve(1)",
      "Promise.resolve(1)\nconst after = 2",
      "unknownFunction()",
      "promise",
      "Promise.withResolvers()",
      "1 + 2",
      "",
    ]);
  });

  it("orders blocking over await over async_def", () => {
    expectMode("blocking_sync", [
      "await x\nfs.readFileSync('/x')",
      "const f = async () => 1\nwhile (true) {}\nf()",
    ]);
    expectMode("top_level_await", ["await x\nPromise.resolve(1)"]);
  });

  it("lets a forced mode win, still preparing the source the same way", () => {
    const forced = prepareCell("fs.readFileSync('/x')", { mode: "simple_sync" });
    expect(forced.mode).toBe("simple_sync");
    const awaiting = prepareCell("await 1", { mode: "simple_sync" });
    expect(awaiting).toMatchObject({ mode: "simple_sync", async: true });
    expect(prepareCell("1", { mode: "blocking_sync" }).mode).toBe("blocking_sync");
  });
});
