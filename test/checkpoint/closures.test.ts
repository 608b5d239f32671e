import { execFile } from "node:child_process";
import { once } from "node:events";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { scopeReader } from "../../src/checkpoint/closures.ts";
import {
  applyCheckpoints,
  encodeNamespace,
  NamespaceCheckpointer,
} from "../../src/checkpoint/index.ts";
import type { Session } from "../../src/session/session.ts";
import { startSession } from "../session/helpers.ts";
import { namespaceOf, restoreInto } from "./helpers.ts";

async function roundTrip(code: string) {
  const source = namespaceOf(code);
  const encoded = encodeNamespace(source.entries);
  expect(encoded.uncaptured).toEqual([]);
  return { source, restored: await restoreInto(encoded.data), encoded };
}

function snapshotsTaken(): number {
  const reader = scopeReader();
  if ("unavailable" in reader) throw new Error(reader.unavailable);
  return reader.snapshotMs.length;
}

const scratch: string[] = [];
afterEach(() => {
  for (const dir of scratch.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

describe("checkpoint: closures keep their captured variables", () => {
  it("restores a counter with its current count, independent of the original", async () => {
    const { source, restored } = await roundTrip(`
      function makeCounter() { let n = 0; return () => ++n; }
      const c = makeCounter(); c(); c();
      var counter = c;
    `);
    expect(restored.run("counter()")).toBe(3);
    expect(restored.run("counter()")).toBe(4);
    expect(source.run("counter()")).toBe(3);
  });

  it("keeps two closures of one scope sharing it, and sibling scopes apart", async () => {
    const before = snapshotsTaken();
    const { restored } = await roundTrip(`
      function pair() { let n = 0; return [() => ++n, () => n]; }
      var p = pair(); var q = pair();
      p[0]();
    `);
    // p[0] and p[1] show equal scopes: a heap snapshot tells that they are one.
    expect(snapshotsTaken()).toBeGreaterThan(before);
    expect(restored.run("p[0](); p[0](); p[1]()")).toBe(3);
    expect(restored.run("q[1]()")).toBe(0);
    expect(restored.run("q[0](); [p[1](), q[1]()]")).toEqual([3, 1]);
  });

  it("tells apart sibling scopes whose values are equal (a heap snapshot decides)", async () => {
    const { restored } = await roundTrip(`
      function pair() { let n = 0; return [() => ++n, () => n]; }
      var a = pair(); var b = pair();
    `);
    expect(restored.run("a[0](); a[0](); [a[1](), b[1]()]")).toEqual([2, 0]);
  });

  it("restores a closure over a closure: the outer scope stays shared, inner ones apart", async () => {
    const { restored } = await roundTrip(`
      function outer() { let total = 100; return function mid(step) { let calls = 0; return () => { calls++; total += step; return [total, calls]; }; }; }
      var mid = outer();
      var byOne = mid(1), byTen = mid(10);
      byOne();
    `);
    expect(restored.run("byTen()")).toEqual([111, 1]);
    expect(restored.run("byOne()")).toEqual([112, 2]);
    expect(restored.run("mid(1000)()")).toEqual([1112, 1]);
  });

  it("keeps identity between captured objects and namespace names", async () => {
    const { restored } = await roundTrip(`
      var stats = { hits: 0 };
      function tracker(target) { const seen = []; return (x) => { target.hits++; seen.push(x); return seen; }; }
      var track = tracker(stats);
      track("a");
    `);
    expect(restored.run("track('b')")).toEqual(["a", "b"]);
    expect(restored.run("stats.hits")).toBe(2);
  });

  it("reads the closure's own variable, not a namespace name it shadows", async () => {
    const { restored } = await roundTrip(`
      var rate = 1;
      function withRate() { let rate = 10; return (x) => x * rate; }
      var scaled = withRate();
    `);
    expect(restored.run("scaled(2)")).toBe(20);
    expect(restored.run("rate")).toBe(1);
  });

  it("restores methods, getters, classes and recursive functions created in a closure", async () => {
    const { restored } = await roundTrip(`
      function makeStore() {
        let items = [];
        class Item { constructor(name) { this.name = name; items.push(this); } }
        function countdown(n) { return n === 0 ? items.length : countdown(n - 1); }
        return { add(name) { return new Item(name); }, get size() { return items.length; }, countdown, Item };
      }
      var store = makeStore();
      store.add("x");
    `);
    expect(restored.run("store.size")).toBe(1);
    expect(restored.run("store.add('y') instanceof store.Item")).toBe(true);
    expect(restored.run("store.countdown(5)")).toBe(2);
  });

  it("restores instances of a class defined inside a function, linked to the restored class", async () => {
    const { restored } = await roundTrip(`
      var hidden = (() => { class Hidden { constructor() { this.x = 1; } twice() { return this.x * 2; } } return new Hidden(); })();
    `);
    expect(restored.run("hidden.twice()")).toBe(2);
    expect(restored.run("hidden instanceof hidden.constructor && hidden.constructor.name")).toBe(
      "Hidden",
    );
  });

  it("re-encodes every name of a shared scope in an increment, so it stays one scope", async () => {
    const source = namespaceOf(`
      function pair() { let n = 0; return [() => ++n, () => n]; }
      var both = pair(); var inc = both[0]; var get = both[1];
    `);
    const entries = () =>
      source.entries.map(([name]) => [name, source.run(name)] as [string, unknown]);
    const checkpointer = new NamespaceCheckpointer();
    const full = checkpointer.full(entries());
    source.run("inc(); inc()");
    // Only \`inc\` is said to have changed; \`get\` (and \`both\`) share its scope.
    const increment = checkpointer.incremental(entries(), ["inc"], []);
    expect(increment.widenedBy.sort()).toEqual(["both", "get"]);
    const { context } = namespaceOf("");
    const { values, failed } = await applyCheckpoints([full.data, increment.data], context);
    expect(failed).toEqual([]);
    const restoredInc = values.get("inc") as () => number;
    const restoredGet = values.get("get") as () => number;
    expect([restoredInc(), restoredGet()]).toEqual([3, 3]);
  });

  it("keeps a loop's per-iteration bindings apart and its enclosing scope shared", async () => {
    const { restored } = await roundTrip(`
      function steps() { let total = 0; const out = []; for (let i = 1; i <= 3; i++) out.push(() => (total += i)); return out; }
      var adders = steps();
    `);
    expect(restored.run("[adders[2](), adders[0](), adders[1]()]")).toEqual([3, 4, 6]);
  });

  it("takes no heap snapshot when no two captured scopes look alike", async () => {
    const before = snapshotsTaken();
    const { restored } = await roundTrip(`
      function makeCounter(start) { let n = start; return () => ++n; }
      var counters = Array.from({ length: 50 }, (_, i) => makeCounter(i * 10));
    `);
    expect(snapshotsTaken()).toBe(before);
    expect(restored.run("counters[49]()")).toBe(491);
  });

  it("still lists what cannot travel, once, by name with the reason", () => {
    const source = namespaceOf(`
      function* numbers() { let i = 0; while (true) yield i++; }
      var running = numbers(); running.next();
      function holder() { const gen = numbers(); return () => gen.next().value; }
      var fromGenerator = holder();
    `);
    const encoded = encodeNamespace(source.entries);
    expect(encoded.uncaptured).toEqual([
      { name: "running", reason: "generator object (its suspended state cannot be saved)" },
      {
        name: "fromGenerator",
        reason:
          "fromGenerator.<Closure (holder)>.gen: generator object (its suspended state cannot be saved)",
      },
    ]);
    expect(encoded.names).toEqual(["numbers", "holder"]);
  });

  it("restores closures in a fresh process", async () => {
    const source = namespaceOf(`
      function makeCounter() { let n = 0; return () => ++n; }
      var c = makeCounter(); c(); c();
      function pair() { let n = 0; return [() => ++n, () => n]; }
      var p = pair(); p[0]();
    `);
    const encoded = encodeNamespace(source.entries);
    expect(encoded.uncaptured).toEqual([]);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "capsule-closures-"));
    scratch.push(dir);
    const file = path.join(dir, "checkpoint.bin");
    fs.writeFileSync(file, encoded.data);
    const codec = path.resolve("src/checkpoint/index.ts");
    const script = `
      import fs from "node:fs";
      import vm from "node:vm";
      import { assignNamespace, decodeNamespace } from ${JSON.stringify(codec)};
      const context = vm.createContext();
      const { values, failed } = await decodeNamespace(fs.readFileSync(${JSON.stringify(file)}), context);
      const global = vm.runInContext("globalThis", context);
      for (const [name, value] of values) assignNamespace(global, name, value);
      console.log(JSON.stringify({ failed, results: vm.runInContext("[c(), p[0](), p[1]()]", context) }));
    `;
    const output = await new Promise<string>((resolve, reject) => {
      execFile(
        path.resolve("node_modules/.bin/node"),
        ["--input-type=module", "-e", script],
        (error, stdout, stderr) =>
          error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout),
      );
    });
    expect(JSON.parse(output)).toEqual({ failed: [], results: [3, 2, 2] });
  });
});

describe("a session's closures survive a worker kill -9", () => {
  let session: Session | undefined;
  afterEach(async () => {
    await session?.close();
    session = undefined;
  });

  it("restores counters, shared scopes and symbols in the fresh worker", async () => {
    session = await startSession();
    await session.execute("function makeCounter() { let n = 0; return () => ++n }");
    await session.execute("const c = makeCounter(); c(); c()");
    await session.execute(
      "function pair() { let n = 0; return [() => ++n, () => n] }; const [inc, get] = pair(); inc()",
    );
    await session.execute("const tag = Symbol('tag'); const tagged = { [tag]: 'yes', tag }");
    const pid = session.pid!;
    const exited = once(session, "worker-exit");
    process.kill(pid, "SIGKILL");
    await exited;
    const r = await session.execute("[c(), inc(), get(), tagged[tag], tagged.tag === tag]");
    expect(r.value).toEqual([3, 2, 2, "yes", true]);
    expect(session.pid).not.toBe(pid);
  });
});
