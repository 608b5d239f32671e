/**
 * What the permission model misses: `node:sqlite` opens files itself, so a cell must not
 * reach it by any path unless the session grants it — and a database the cell may read
 * with `fs` is no exception.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSession } from "./helpers.ts";
import { SANDBOX_MODES } from "./sandbox-modes.ts";

/** Every way a cell can name a built-in, each with the value it gives when it works. */
const SQLITE_PATHS: Record<string, string> = {
  require: "typeof require('node:sqlite').DatabaseSync",
  "static import": "import { DatabaseSync } from 'node:sqlite';\ntypeof DatabaseSync",
  "dynamic import()": "typeof (await import('node:sqlite')).DatabaseSync",
  "process.getBuiltinModule": "typeof process.getBuiltinModule('node:sqlite').DatabaseSync",
  "getBuiltinModule without the scheme": "typeof process.getBuiltinModule('sqlite').DatabaseSync",
  "Module._load": "typeof require('node:module')._load('node:sqlite').DatabaseSync",
  "the cell realm's constructor chain":
    "typeof this.constructor.constructor('return process')().getBuiltinModule('node:sqlite').DatabaseSync",
  "the worker realm's constructor chain":
    "typeof require.constructor('return process')().getBuiltinModule('node:sqlite').DatabaseSync",
};

/** A worker thread started with `options`: its own execArgv and env, or none of them. */
const threadCell = (options: string) => `await new Promise((resolve) => {
  const { Worker } = require("node:worker_threads");
  const thread = new Worker("require('node:sqlite'); require('node:worker_threads').parentPort.postMessage('opened')", {
    eval: true, ${options}
  });
  thread.on("message", resolve);
  thread.on("error", (error) => resolve(error.message));
})`;
/** Flags and environment of its own, so no preload is inherited; and flags inherited. */
const THREAD_CELLS = [
  threadCell('execArgv: [], env: { CAPSULE_BUILTIN_GRANTS: "sqlite" },'),
  threadCell(""),
];

let shared: string;
let database: string;
beforeAll(() => {
  shared = fs.mkdtempSync(path.join(os.tmpdir(), "capsule-sqlite-"));
  database = path.join(shared, "other.db");
  const db = new DatabaseSync(database);
  db.exec("CREATE TABLE secrets (value TEXT); INSERT INTO secrets VALUES ('hunter2')");
  db.close();
});
afterAll(() => fs.rmSync(shared, { recursive: true, force: true }));

for (const { sandbox, skip } of SANDBOX_MODES) {
  describe.skipIf(skip)(`node:sqlite (sandbox: ${sandbox})`, () => {
    it("is unavailable through every path, with an error naming permissions.sqlite", async () => {
      // Read access to the database's directory: the file is readable, yet not through SQLite.
      const session = await startSession({ sandbox, permissions: { fsRead: [shared] } });
      for (const [route, cell] of Object.entries(SQLITE_PATHS)) {
        await expect(session.execute(cell), route).rejects.toMatchObject({
          code: "EXECUTION_ERROR",
          message: expect.stringContaining("permissions.sqlite"),
        });
      }
      for (const cell of THREAD_CELLS) {
        expect((await session.execute(cell)).value).toMatch(/permissions\.sqlite/);
      }
      expect(fs.readdirSync(shared)).toEqual(["other.db"]);
    });

    it("is available when granted", async () => {
      const session = await startSession({ sandbox, permissions: { sqlite: true } });
      const cell = `const { DatabaseSync } = require('node:sqlite');
        const db = new DatabaseSync('mine.db');
        db.exec("CREATE TABLE t (x); INSERT INTO t VALUES (42)");
        db.prepare('SELECT x FROM t').get().x`;
      expect((await session.execute(cell)).value).toBe(42);
    });
  });
}
