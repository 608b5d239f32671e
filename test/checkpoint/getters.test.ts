import { once } from "node:events";
import { afterEach, describe, expect, it } from "vitest";
import { encodeNamespace } from "../../src/checkpoint/index.ts";
import type { Session } from "../../src/session/session.ts";
import { startSession } from "../session/helpers.ts";
import { namespaceOf, restoreInto } from "./helpers.ts";

/**
 * Every trap a checkpoint could trip counts into `hits` (kept on a plain object, so
 * reading the count runs nothing): getters on the global and on nested objects, array
 * element getters, getters that shadow builtin internals (`buffer`, `flags`, `stack`,
 * `name`, `Symbol.toStringTag`), Proxy traps, `toString`/`valueOf`.
 */
const TRAPS = `
  var hits = { count: 0, where: [] };
  function hit(where) { hits.count++; hits.where.push(where); return 1; }
  Object.defineProperty(globalThis, "now", { get() { return hit("global getter"); }, set(v) { hit("global setter"); }, enumerable: true, configurable: true });
  var config = { plain: 1 };
  Object.defineProperty(config, "lazy", { get() { return hit("nested getter"); }, enumerable: true, configurable: true });
  var list = [1, 2];
  Object.defineProperty(list, 1, { get() { return hit("element getter"); }, enumerable: true, configurable: true });
  var bytes = new Uint8Array(4);
  Object.defineProperty(bytes, "buffer", { get() { return hit("typed array buffer"); } });
  var pattern = /a/g;
  Object.defineProperty(pattern, "global", { get() { return hit("regexp flag"); } });
  var failure = new Error("boom");
  Object.defineProperty(failure, "stack", { get() { return hit("error stack"); }, set(v) {}, configurable: true });
  Object.defineProperty(failure, "message", { get() { return hit("error message"); }, configurable: true });
  var Named = class Named { static get name() { return hit("class name"); } };
  var tagged = { get [Symbol.toStringTag]() { return hit("toStringTag"); } };
  var boxed = { toString() { return hit("toString"); }, valueOf() { return hit("valueOf"); } };
  var proxied = { inner: new Proxy({}, { get() { return hit("proxy get"); }, ownKeys() { hit("proxy ownKeys"); return []; }, getPrototypeOf() { hit("proxy proto"); return null; }, getOwnPropertyDescriptor() { hit("proxy descriptor"); } }) };
  var protoProxy = Object.create(new Proxy({}, { getOwnPropertyDescriptor() { hit("proxy prototype"); }, getPrototypeOf() { hit("proxy prototype chain"); return null; } }));
`;

describe("checkpoint: Capsule never runs user getters, setters or traps", () => {
  it("captures accessors on the global and on objects as functions, without calling them", async () => {
    const source = namespaceOf(TRAPS);
    const encoded = encodeNamespace(source.entries);
    expect(source.run("hits")).toEqual({ count: 0, where: [] });
    const reasons = new Map(encoded.uncaptured.map((u) => [u.name, u.reason]));
    expect(reasons.get("proxied")).toMatch(/^proxied\.inner: Proxy/);
    expect(reasons.get("protoProxy")).toMatch(/Proxy/);
    expect([...reasons.keys()].sort()).toEqual(["protoProxy", "proxied"]);

    const restored = await restoreInto(encoded.data);
    expect(restored.failed.map((f) => f.name).sort()).toEqual(["protoProxy", "proxied"]);
    expect(restored.run("hits")).toEqual({ count: 0, where: [] });
    // What was restored is the accessor itself: calling it now runs the user's getter.
    expect(
      restored.run(`[
        typeof Object.getOwnPropertyDescriptor(globalThis, "now").get,
        typeof Object.getOwnPropertyDescriptor(globalThis, "now").set,
        typeof Object.getOwnPropertyDescriptor(config, "lazy").get,
        typeof Object.getOwnPropertyDescriptor(list, 1).get,
        list[0], list.length, pattern.source, bytes.length,
      ]`),
    ).toEqual(["function", "function", "function", "function", 1, 2, "a", 4]);
    expect(restored.run("hits.count")).toBe(0);
    expect(restored.run("[now, config.lazy, list[1]]")).toEqual([1, 1, 1]);
    expect(restored.run("hits.where")).toEqual([
      "global getter",
      "nested getter",
      "element getter",
    ]);
    // The capture above ran nothing in the source either.
    expect(source.run("hits.count")).toBe(0);
  });

  it("keeps the attributes of accessor elements and of read-only elements", async () => {
    const source = namespaceOf(`
      var items = [1, 2, 3];
      Object.defineProperty(items, 0, { value: 1, writable: false, enumerable: true, configurable: false });
    `);
    const restored = await restoreInto(encodeNamespace(source.entries).data);
    expect(
      restored.run(
        "const d = Object.getOwnPropertyDescriptor(items, 0); [d.writable, d.configurable, items.join()]",
      ),
    ).toEqual([false, false, "1,2,3"]);
  });
});

describe("a session's checkpoints never run user getters (real worker, kill -9)", () => {
  let session: Session | undefined;
  afterEach(async () => {
    await session?.close();
    session = undefined;
  });

  it("keeps a counting getter on the global uncalled across cells, a crash and the restore", async () => {
    session = await startSession();
    await session.execute(`
      var hits = { count: 0 };
      Object.defineProperty(globalThis, "now", { get() { hits.count++; return Date.now(); }, enumerable: true, configurable: true });
      var config = {};
      Object.defineProperty(config, "lazy", { get() { hits.count++; return 42; }, enumerable: true });
      null; // not \`config\` as the cell's value: rendering a result is not checkpointing
    `);
    // Several cells, each followed by a checkpoint (full and incremental).
    await session.execute("var other = 1");
    await session.execute("other++; config.plain = 2");
    expect((await session.execute("hits.count")).value).toBe(0);
    const pid = session.pid!;
    const exited = once(session, "worker-exit");
    process.kill(pid, "SIGKILL");
    await exited;
    const restored = await session.execute(
      "[hits.count, typeof Object.getOwnPropertyDescriptor(globalThis, 'now').get, other, config.plain]",
    );
    expect(restored.value).toEqual([0, "function", 2, 2]);
    expect((await session.execute("config.lazy + (now > 0 ? 1 : 0)")).value).toBe(43);
    expect((await session.execute("hits.count")).value).toBe(2);
    expect(session.pid).not.toBe(pid);
  });
});
