/**
 * Every cell runs in the session's one realm, whatever its mode: a blocking cell sees
 * and changes exactly the objects an event-loop cell does. Each case runs twice, with
 * the cell under test on the event loop and forced to `blocking_sync`.
 */
import { once } from "node:events";
import { describe, expect, it } from "vitest";
import type { ExecutionMode } from "../../src/protocol/messages.ts";
import { startSession } from "./helpers.ts";

const PATHS: { path: string; mode: ExecutionMode | undefined }[] = [
  { path: "event loop", mode: undefined },
  { path: "blocking", mode: "blocking_sync" },
];

describe.each(PATHS)("one realm: cells on the $path path", ({ mode }) => {
  const options = mode === undefined ? {} : { mode };

  it("keeps a require()d module for the next cell", async () => {
    const session = await startSession();
    await session.execute(
      'const fs = require("node:fs"); fs.appendFileSync("log.txt", "start\\n"); let total = 1',
      options,
    );
    await session.execute('fs.appendFileSync("log.txt", "more\\n"); total++', options);
    const r = await session.execute('[fs.readFileSync("log.txt", "utf8"), total]', options);
    expect(r.value).toEqual(["start\nmore\n", 2]);
  });

  it("uses and changes closures, generators, symbols and class instances of earlier cells", async () => {
    const session = await startSession();
    await session.execute(`
      function makeCounter() { let n = 0; return () => ++n }
      const counter = makeCounter();
      function* naturals() { let i = 0; while (true) yield i++ }
      const gen = naturals(); gen.next();
      const tag = Symbol("tag");
      class Account { #balance = 0; deposit(x) { this.#balance += x; return this.#balance } }
      const account = new Account();
      const tagged = { [tag]: "mine" };
    `);
    const r = await session.execute(
      "[counter(), counter(), gen.next().value, tagged[tag], account.deposit(5), account instanceof Account]",
      options,
    );
    expect(r.value).toEqual([1, 2, 1, "mine", 5, true]);
    // The changes are the namespace's, seen by a later event-loop cell.
    const after = await session.execute("[counter(), gen.next().value, account.deposit(1)]");
    expect(after.value).toEqual([3, 2, 6]);
  });

  it("keeps object identity across names", async () => {
    const session = await startSession();
    await session.execute(
      "const shared = { hits: 0 }; const alias = shared; const list = [shared]",
    );
    const r = await session.execute(
      "alias.hits++; [shared === alias, list[0] === shared, shared.hits]",
      options,
    );
    expect(r.value).toEqual([true, true, 1]);
    expect((await session.execute("list[0].hits")).value).toBe(1);
  });

  it("keeps globals changed through called functions and through globalThis", async () => {
    const session = await startSession();
    await session.execute(
      "var level = 0; function raise() { level += 10; globalThis.flag = 'set' }",
    );
    await session.execute("raise(); globalThis.viaGlobal = level; this.viaThis = 7", options);
    const r = await session.execute("[level, flag, viaGlobal, viaThis]");
    expect(r.value).toEqual([10, "set", 10, 7]);
  });

  it("keeps _ as the last result and _error as the last error, until the user takes _ over", async () => {
    const session = await startSession();
    await session.execute("6 * 7", options);
    expect((await session.execute("_ + 1", options)).value).toBe(43);
    await expect(session.execute("null.missing", options)).rejects.toMatchObject({
      code: "EXECUTION_ERROR",
    });
    expect((await session.execute("_error instanceof TypeError", options)).value).toBe(true);
    // As in Node's REPL: a declaration's cell has the value undefined.
    await session.execute("let declared = 1", options);
    expect((await session.execute("_ === undefined", options)).value).toBe(true);
    // Assigning `_` makes it an ordinary user variable; results no longer overwrite it.
    const taken = await session.execute("_ = 'mine'", options);
    expect(taken.value).toBe("mine");
    await session.execute("1 + 1", options);
    expect((await session.execute("_", options)).value).toBe("mine");
    // The user's `_` is an ordinary name: checkpointed, and back after a worker kill -9.
    const exited = once(session, "worker-exit");
    process.kill(session.pid!, "SIGKILL");
    await exited;
    expect((await session.execute("_", options)).value).toBe("mine");
  });
});
