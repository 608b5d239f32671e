/**
 * Modules a cell obtained — by `require`, destructured `require`, dynamic `import()` or an
 * `import` declaration — are still there, with the right identity, after the worker is
 * killed with SIGKILL and the session restores its namespace in a new process.
 */
import { once } from "node:events";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { ExecutionMode } from "../../src/protocol/messages.ts";
import type { Session } from "../../src/session/session.ts";
import { killCapsuleChildren, killHard, startCapsuleChild } from "../durable/capsule-process.ts";
import { processExists, startSession } from "./helpers.ts";

/** Kills the worker with SIGKILL and waits until the session has seen it die. */
async function killWorker(session: Session): Promise<number> {
  const pid = session.pid!;
  const exited = once(session, "worker-exit");
  process.kill(pid, "SIGKILL");
  await exited;
  return pid;
}

/** After a kill: the next cell ran in a new process and the old one is gone. */
function expectReplaced(session: Session, killed: number): void {
  expect(session.pid).not.toBe(killed);
  expect(processExists(killed)).toBe(false);
}

// Both ways a cell can be run: on the worker's event loop, and as a blocking cell.
const MODES: Array<{ label: string; mode: ExecutionMode | undefined }> = [
  { label: "event loop", mode: undefined },
  { label: "blocking", mode: "blocking_sync" },
];

describe.each(MODES)("modules survive a worker kill -9 ($label cells)", ({ mode }) => {
  const options = mode === undefined ? {} : { mode };

  it("require, destructured require, dynamic import() and import declarations", async () => {
    const session = await startSession();
    await session.execute('const fs = require("node:fs")', options);
    await session.execute('const { join, sep } = require("node:path")', options);
    await session.execute('const { readFile } = require("node:fs").promises', options);
    await session.execute('const osModule = await import("node:os")', options);
    await session.execute(
      'import { createHash } from "node:crypto"; import * as url from "node:url"',
      options,
    );
    const killed = await killWorker(session);

    const r = await session.execute(`[
      typeof fs.readFileSync, join("a", "b") === "a" + sep + "b", typeof osModule.cpus,
      createHash("sha256").update("x").digest("hex").length, typeof url.pathToFileURL,
      fs === require("node:fs"), join === require("node:path").join,
      osModule === await import("node:os"), readFile === require("node:fs/promises").readFile,
    ]`);
    expect(r.value).toEqual(["function", true, "function", 64, "function", true, true, true, true]);
    expectReplaced(session, killed);
  });

  it("a require inside a function called in a later cell", async () => {
    const session = await startSession();
    await session.execute('function loadUtil() { return require("node:util") }', options);
    await session.execute("const util = loadUtil()", options);
    const killed = await killWorker(session);
    const r = await session.execute(
      '[util === require("node:util"), util.format("%d items", 3), loadUtil() === util]',
    );
    expect(r.value).toEqual([true, "3 items", true]);
    expectReplaced(session, killed);
  });

  it("an import() inside a function re-created on restore", async () => {
    const session = await startSession();
    await session.execute('async function eol() { return (await import("node:os")).EOL }', options);
    const killed = await killWorker(session);
    const r = await session.execute('(await eol()) === require("node:os").EOL');
    expect(r.value).toBe(true);
    expectReplaced(session, killed);
  });

  it("the imports of a cell that threw", async () => {
    const session = await startSession();
    await expect(
      session.execute(
        `const { basename } = require("node:path");
         import { EOL } from "node:os";
         const zlib = await import("node:zlib");
         throw new Error("after the imports")`,
        options,
      ),
    ).rejects.toMatchObject({ code: "EXECUTION_ERROR" });
    const killed = await killWorker(session);
    const r = await session.execute(
      '[basename("/a/b.txt"), EOL === require("node:os").EOL, typeof zlib.crc32]',
    );
    expect(r.value).toEqual(["b.txt", true, "function"]);
    expectReplaced(session, killed);
  });
});

describe("modules of the user's project survive a worker kill -9", () => {
  let project: string;

  beforeAll(() => {
    project = fs.mkdtempSync(path.join(os.tmpdir(), "capsule-modules-"));
    const write = (file: string, text: string) => {
      fs.mkdirSync(path.dirname(path.join(project, file)), { recursive: true });
      fs.writeFileSync(path.join(project, file), text);
    };
    write("package.json", "{}");
    // CommonJS with module state: the counter starts again in a new process, but the
    // restored name is the very object a later require returns.
    write("node_modules/tally/index.js", "let n = 0; exports.next = () => ++n;");
    write(
      "node_modules/shapes/package.json",
      JSON.stringify({ type: "module", exports: "./index.js" }),
    );
    write(
      "node_modules/shapes/index.js",
      "export const square = (x) => x * x; export default class Shape { sides() { return 4 } }",
    );
    write("lib/helpers.cjs", "module.exports = { twice: (x) => 2 * x };");
    write("config.json", JSON.stringify({ retries: 3 }));
    write("data.json", JSON.stringify({ answer: 42 }));
  });

  afterAll(() => {
    fs.rmSync(project, { recursive: true, force: true });
  });

  it("packages, relative paths and JSON, required and imported from the module root", async () => {
    // Reading the project's own files (not just its packages) is the user's grant.
    const session = await startSession({ moduleRoot: project, permissions: { fsRead: [project] } });
    await session.execute('const tally = require("tally"); tally.next()');
    await session.execute('const { next } = require("tally")');
    await session.execute('const helpers = require("./lib/helpers.cjs")');
    await session.execute('const config = require("./config.json")');
    await session.execute('import Shape, { square } from "shapes"');
    await session.execute('const shapes = await import("shapes")');
    await session.execute('import data from "./data.json" with { type: "json" }');
    const killed = await killWorker(session);

    const r = await session.execute(`[
      tally === require("tally"), next === tally.next, next(),
      helpers === require("./lib/helpers.cjs"), helpers.twice(21),
      config === require("./config.json"), config.retries,
      square(3), new Shape().sides(), shapes.square === square, shapes.default === Shape,
      data.answer,
    ]`);
    expect(r.value).toEqual([true, true, 1, true, 42, true, 3, 9, 4, true, true, 42]);
    expectReplaced(session, killed);
  });

  it("a package of the host project (lodash), whole and destructured", async () => {
    const session = await startSession();
    await session.execute('const _ = require("lodash"); const { chunk } = require("lodash")');
    const killed = await killWorker(session);
    const r = await session.execute(
      '[chunk([1, 2, 3], 2), _ === require("lodash"), _.chunk === chunk]',
    );
    expect(r.value).toEqual([[[1, 2], [3]], true, true]);
    expectReplaced(session, killed);
  });
});

describe("modules survive a kill -9 of the orchestrating process (durable named session)", () => {
  let root: string;

  beforeAll(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "capsule-modules-durable-"));
    fs.mkdirSync(path.join(root, "side"));
  });

  afterEach(async () => {
    await killCapsuleChildren();
  });

  afterAll(() => {
    fs.rmSync(root, { recursive: true, force: true });
  });

  /** Runs `code` as the next cell of named session "demo" in a new orchestrator process. */
  function exec(code: string) {
    return startCapsuleChild(["exec", path.join(root, "store"), path.join(root, "side"), code]);
  }

  it("require, destructured require, import() and import come back in the next process", async () => {
    const first = exec(`
      const fs = require("node:fs"); const { join } = require("node:path");
      const osModule = await import("node:os"); import { createHash } from "node:crypto";
      "defined"`);
    expect((await first.next("result")).value).toBe("defined");
    // The step is recorded before its result is reported: kill the orchestrator right
    // there, before it can close anything.
    await killHard(first);

    const second = exec(`[
      typeof fs.readFileSync, join("a", "b"), typeof osModule.cpus,
      createHash("sha256").update("x").digest("hex").length,
      fs === require("node:fs"), osModule === await import("node:os"),
    ]`);
    expect((await second.exited).code).toBe(0);
    // The cell's outcome, whichever it was: a failure shows its error here.
    const outcome = second.reports().find((r) => r.event === "result" || r.event === "error");
    expect(outcome).toEqual({
      event: "result",
      value: ["function", path.join("a", "b"), "function", 64, true, true],
      display: expect.any(String),
    });
  });
});
