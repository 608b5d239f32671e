import { describe, expect, it } from "vitest";
import { prepareCell } from "../../src/prepare/index.ts";
import { Notebook } from "./notebook.ts";

describe("rewriting keeps JavaScript's meaning", () => {
  it("does not join a rewritten declaration to the previous line (ASI)", async () => {
    const nb = new Notebook();
    await nb.run("let log = []\nlog.push(1)\nconst afterSync = 2\nclass Later {}\n(log.push(3))");
    expect(nb.namespace.log).toEqual([1, 3]);
    await nb.run(
      "log.push(4)\nconst afterAwait = await 5\nlog.push(6)\nclass AlsoLater {}\n(log.push(7))",
    );
    expect(nb.namespace.log).toEqual([1, 3, 4, 6, 7]);
    expect(nb.namespace.afterAwait).toBe(5);
  });

  it("converts var under if/label bodies in async cells", async () => {
    const nb = new Notebook();
    await nb.run(
      "await 0\nif (true) var chosen = 'yes'\nouter: for (var j = 0; j < 2; j++) { continue outer }",
    );
    expect(nb.namespace).toMatchObject({ chosen: "yes", j: 2 });
  });

  it("resets `let x;` on re-run in sync and async cells alike", async () => {
    const nb = new Notebook();
    await nb.run("let x = 1");
    await nb.run("let x");
    expect(nb.namespace.x).toBeUndefined();
    await nb.run("let y = 1");
    await nb.run("await 0; let y");
    expect(nb.namespace.y).toBeUndefined();
  });

  it("publishes a reassigned top-level function's final value in an async cell", async () => {
    const nb = new Notebook();
    await nb.run("function pick() { return 'first' }\nawait 0\npick = () => 'second'");
    expect(await nb.run("pick()")).toBe("second");
  });

  it("re-runs a top-level-await cell that declares const and class", async () => {
    const nb = new Notebook();
    const cell = "const n = await Promise.resolve(Math.random())\nclass Model {}\nn";
    const first = await nb.run(cell);
    const second = await nb.run(cell);
    expect(second).toBe(nb.namespace.n);
    expect(second).not.toBe(first);
  });

  it("keeps a hashbang line harmless", async () => {
    const nb = new Notebook();
    expect(await nb.run("#!/usr/bin/env node\nconst h = 1\nh")).toBe(1);
    expect(
      await nb.run("#!/usr/bin/env node\nawait 0\nfunction inc(v) { return v + 1 }\ninc(h)"),
    ).toBe(2);
  });

  it('keeps "use strict" cells strict in sync cells too', async () => {
    const nb = new Notebook();
    await expect(nb.run('"use strict"\nundeclaredTarget = 1')).rejects.toMatchObject({
      name: "ReferenceError",
    });
  });

  it("keeps columns on lines that only had let/const/var", () => {
    const code = "const alpha = 1\nlet beta = 2";
    const { source } = prepareCell(code);
    expect(source.split("\n").map((line) => line.indexOf("="))).toEqual(
      code.split("\n").map((line) => line.indexOf("=")),
    );
  });
});
