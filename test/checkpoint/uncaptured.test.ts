import { EventEmitter } from "node:events";
import { Socket } from "node:net";
import { PassThrough } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { encodeNamespace } from "../../src/checkpoint/index.ts";
import { namespaceOf, restoreInto } from "./helpers.ts";

function reasons(code: string, extra: Record<string, unknown> = {}) {
  const ns = namespaceOf(code);
  const entries = [...ns.entries, ...Object.entries(extra)];
  const encoded = encodeNamespace(entries);
  return { encoded, reasonOf: new Map(encoded.uncaptured.map((u) => [u.name, u.reason])) };
}

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

describe("checkpoint: what cannot be captured is listed with a reason", () => {
  it("reports functions that cannot be re-created from source", () => {
    const { reasonOf, encoded } = reasons(`
      function add(a, b) { return a + b; }
      var nativePush = [].push;
      var bound = add.bind(null, 1);
      var withScoped = (() => { with ({ n: 0 }) { return () => ++n; } })();
      var owner = { make() { return () => this; } };
      var lexical = owner.make();
    `);
    expect(reasonOf.get("nativePush")).toBe('native function "push"');
    expect(reasonOf.get("bound")).toMatch(/^bound function "bound add"/);
    expect(reasonOf.get("withScoped")).toBe("closes over a With scope, which cannot be re-created");
    expect(reasonOf.get("lexical")).toMatch(/uses the `this`/);
    expect(encoded.names).toEqual(expect.arrayContaining(["add", "owner"]));
  });

  it("reports instances of classes with #private state", () => {
    const { reasonOf } = reasons(`
      var Account = class Account { #balance = 0; deposit(n) { this.#balance += n; } };
      var account = new Account();
    `);
    expect(reasonOf.get("account")).toMatch(/class Account has #private members/);
    expect(reasonOf.has("Account")).toBe(false);
    const counted = reasons("var Counted = class Counted { static #count = 0; };").reasonOf;
    expect(counted.get("Counted")).toBe(
      "class with static #private fields, whose values cannot be read",
    );
  });

  it("reports opaque builtins: Proxy, weak collections, Promise, generators", () => {
    const { reasonOf } = reasons(`
      var proxy = new Proxy({}, {});
      var weakMap = new WeakMap(); var weakSet = new WeakSet(); var weakRef = new WeakRef({});
      var promise = Promise.resolve(1);
      var running = (function* () { yield 1; })();
    `);
    expect(reasonOf.get("proxy")).toMatch(/^Proxy/);
    expect(reasonOf.get("weakMap")).toMatch(/^WeakMap/);
    expect(reasonOf.get("weakSet")).toMatch(/^WeakSet/);
    expect(reasonOf.get("weakRef")).toMatch(/^WeakRef/);
    expect(reasonOf.get("promise")).toMatch(/^Promise/);
    expect(reasonOf.get("running")).toMatch(/^generator object/);
  });

  it("reports Node handles, streams, emitters and timers by their class", () => {
    const socket = new Socket();
    const timer = setTimeout(() => {}, 60_000);
    cleanups.push(
      () => socket.destroy(),
      () => clearTimeout(timer),
    );
    const { reasonOf } = reasons("", {
      socket,
      stream: new PassThrough(),
      emitter: new EventEmitter(),
      timer,
    });
    expect(reasonOf.get("socket")).toBe(
      "instance of Socket, a class of the runtime, not of the session",
    );
    expect(reasonOf.get("stream")).toMatch(/^instance of PassThrough/);
    expect(reasonOf.get("emitter")).toMatch(/^instance of EventEmitter/);
    expect(reasonOf.get("timer")).toMatch(/^instance of Timeout/);
  });

  it("drops a whole name for a deep uncapturable part, says where, and keeps shared parts", async () => {
    const socket = new Socket();
    cleanups.push(() => socket.destroy());
    const ns = namespaceOf(`var shared = { n: 1 }; var config = { shared, db: { list: [1, 2] } };`);
    (ns.run("config.db") as Record<string, unknown>).list = [1, socket];
    const encoded = encodeNamespace(ns.entries);
    expect(encoded.uncaptured).toEqual([
      {
        name: "config",
        reason: "config.db.list[1]: instance of Socket, a class of the runtime, not of the session",
      },
    ]);
    const restored = await restoreInto(encoded.data);
    expect(restored.run("shared.n")).toBe(1);
    expect(restored.values.has("config")).toBe(false);
    expect(restored.failed).toEqual([
      { name: "config", reason: `not captured: ${encoded.uncaptured[0]!.reason}` },
    ]);
  });
});
