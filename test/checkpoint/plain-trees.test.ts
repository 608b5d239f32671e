/**
 * Plain trees (`src/checkpoint/plain-trees.ts`): plain data travels as one JSON node and
 * is parsed by the target context. These tests pin the edges where JSON would be wrong —
 * identity across names, values JSON cannot express, realms, getters — and check that
 * the fast path is actually taken where it should be (by looking at the node table).
 */
import { decode, encode } from "@msgpack/msgpack";
import { describe, expect, it } from "vitest";
import { sealCheckpoint } from "../../src/checkpoint/format.ts";
import {
  applyCheckpoints,
  encodeNamespace,
  NamespaceCheckpointer,
} from "../../src/checkpoint/index.ts";
import { namespaceOf, restoreInto } from "./helpers.ts";

/** Node kinds of a checkpoint's table, read from its MessagePack payload. */
function nodeKinds(data: Uint8Array): string[] {
  const payload = decode(data.subarray(10)) as { nodes: unknown[][] };
  return payload.nodes.map((node) => node[0] as string);
}

async function roundTrip(code: string) {
  const source = namespaceOf(code);
  const encoded = encodeNamespace(source.entries);
  expect(encoded.uncaptured).toEqual([]);
  return { source, encoded, restored: await restoreInto(encoded.data) };
}

describe("plain trees: plain data as one JSON node", () => {
  it("encodes a tree of records as one node and restores it whole", async () => {
    const { encoded, restored } = await roundTrip(`
      var rows = Array.from({ length: 500 }, (_, i) => ({ id: i, name: "r" + i, ok: i % 2 === 0,
        score: i / 3, tags: ["a", "b"], meta: { nested: { deep: [1, [2, [3]]] }, note: null } }));
      var text = "\\ud800 lone surrogate, é, 😀";
    `);
    expect(nodeKinds(encoded.data)).toEqual(["J"]);
    const r = restored.run;
    expect(r("rows.length")).toBe(500);
    expect(r("rows[499].score")).toBe(499 / 3);
    expect(r("JSON.stringify(rows[7])")).toBe(
      JSON.stringify({
        id: 7,
        name: "r7",
        ok: false,
        score: 7 / 3,
        tags: ["a", "b"],
        meta: { nested: { deep: [1, [2, [3]]] }, note: null },
      }),
    );
    expect(r("text")).toBe("\ud800 lone surrogate, é, 😀");
    expect(r("rows[0] !== rows[1] && rows[0].tags !== rows[1].tags")).toBe(true);
  });

  it("makes objects of the target context, nested ones too", async () => {
    const { restored } = await roundTrip(`var data = { list: [{ a: 1 }, [2]], inner: { x: {} } };`);
    const r = restored.run;
    expect(r("Object.getPrototypeOf(data) === Object.prototype")).toBe(true);
    expect(r("Object.getPrototypeOf(data.list) === Array.prototype")).toBe(true);
    expect(r("Array.isArray(data.list) && data.list instanceof Array")).toBe(true);
    expect(r("Object.getPrototypeOf(data.list[0]) === Object.prototype")).toBe(true);
    expect(r("data.list[1] instanceof Array && data.inner.x instanceof Object")).toBe(true);
    // The host realm's prototypes are not the context's.
    expect(Object.getPrototypeOf(restored.values.get("data")) === Object.prototype).toBe(false);
  });

  it("keeps identity when a plain array is also reached from another name (either order)", async () => {
    const { restored } = await roundTrip(`
      var holder = { list: [1, 2, 3], other: { n: 1 } };
      var alias = holder.list;
      var first = [4, 5];
      var later = { ref: first, more: [first] };
    `);
    const r = restored.run;
    expect(r("alias === holder.list")).toBe(true);
    expect(r("alias.push(9); holder.list.length")).toBe(4);
    expect(r("later.ref === first && later.more[0] === first")).toBe(true);
    expect(r("holder.other.n")).toBe(1);
  });

  it("keeps identity of a member shared inside one name (not a tree: sharing survives)", async () => {
    const { encoded, restored } = await roundTrip(`
      var shared = { tag: "red" };
      var rows = [{ t: shared }, { t: shared }, { own: { tag: "blue" } }];
      var cycle = { name: "c" }; cycle.self = cycle;
    `);
    expect(encoded.uncaptured).toEqual([]);
    const r = restored.run;
    expect(r("rows[0].t === rows[1].t && rows[0].t === shared")).toBe(true);
    expect(r("rows[2].own.tag")).toBe("blue");
    expect(r("cycle.self === cycle")).toBe(true);
  });

  it("keeps typed arrays sharing a buffer, next to plain data", async () => {
    const { restored } = await roundTrip(`
      var buffer = new ArrayBuffer(16);
      var views = { bytes: new Uint8Array(buffer), floats: new Float32Array(buffer, 4, 2),
        plain: { label: "v", sizes: [16, 8] } };
      views.floats[0] = 1.5;
    `);
    const r = restored.run;
    expect(r("views.bytes.buffer === views.floats.buffer && views.bytes.buffer === buffer")).toBe(
      true,
    );
    expect(r("views.floats[0]")).toBe(1.5);
    expect(r("views.bytes[7]")).toBe(new Uint8Array(new Float32Array([1.5]).buffer)[3]);
    expect(r("views.floats instanceof Float32Array")).toBe(true);
    expect(r("JSON.stringify(views.plain)")).toBe('{"label":"v","sizes":[16,8]}');
  });

  it("keeps what JSON cannot express: -0, NaN, ±Infinity, undefined, holes, named array keys, null prototypes", async () => {
    const { restored } = await roundTrip(`
      var numbers = { zero: -0, nan: NaN, inf: Infinity, ninf: -Infinity, u: undefined, big: 10n };
      var sparse = [1, , 3];
      var named = Object.assign([1, 2], { extra: "x" });
      var hidden = [1, 2]; Object.defineProperty(hidden, "secret", { value: 7, enumerable: false });
      var frozenItem = [1, 2]; Object.defineProperty(frozenItem, 0, { value: 1, writable: false });
      var bare = Object.create(null); bare.k = "v"; bare.inner = { ok: true };
      var wrapper = { list: [0, -0], ok: [1, 2] };
    `);
    const r = restored.run;
    expect(r("Object.is(numbers.zero, -0) && Number.isNaN(numbers.nan)")).toBe(true);
    expect(r("numbers.inf === Infinity && numbers.ninf === -Infinity")).toBe(true);
    expect(r("'u' in numbers && numbers.u === undefined && numbers.big === 10n")).toBe(true);
    expect(r("sparse.length === 3 && !(1 in sparse) && sparse[2] === 3")).toBe(true);
    expect(r("named.extra === 'x' && named.length === 2")).toBe(true);
    expect(r("hidden.secret === 7 && Object.keys(hidden).join()")).toBe("0,1");
    expect(r("Object.getOwnPropertyDescriptor(frozenItem, 0).writable")).toBe(false);
    expect(r("Object.getPrototypeOf(bare) === null && bare.k === 'v' && bare.inner.ok")).toBe(true);
    expect(r("Object.getPrototypeOf(bare.inner) === Object.prototype")).toBe(true);
    expect(r("Object.is(wrapper.list[1], -0) && wrapper.ok[1] === 2")).toBe(true);
  });

  it("keeps named, symbol and accessor keys and holes of long arrays (keys asked of V8, not listed)", async () => {
    // Long enough that the walk asks the inspector for the named keys (plain-trees.ts).
    const source = namespaceOf(`
      var calls = 0;
      const long = () => Array.from({ length: 5000 }, (_, i) => i);
      var plain = long();
      var named = Object.assign(long(), { extra: "x" });
      var hidden = long(); Object.defineProperty(hidden, "secret", { value: 7, enumerable: false });
      var keyed = long(); keyed[Symbol.for("k")] = "s";
      var getter = long();
      Object.defineProperty(getter, "lazy", { get() { calls++; return 1; }, enumerable: true, configurable: true });
      var element = long();
      Object.defineProperty(element, 4000, { get() { calls++; return 1; }, enumerable: true, configurable: true });
      var holey = long(); delete holey[4999];
    `);
    const encoded = encodeNamespace(source.entries);
    expect(encoded.uncaptured).toEqual([]);
    expect(source.run("calls")).toBe(0);
    // Only \`plain\` takes the bulk path (numbers only: one \`N\` node); every other array
    // is built node by node.
    const kinds = nodeKinds(encoded.data);
    expect(kinds.filter((kind) => kind === "J" || kind === "N")).toEqual(["N"]);
    const r = (await restoreInto(encoded.data)).run;
    expect(r("calls")).toBe(0);
    expect(r("plain.length === 5000 && plain[4999] === 4999")).toBe(true);
    expect(r("named.extra === 'x' && named.length === 5000")).toBe(true);
    expect(r("hidden.secret === 7 && !Object.keys(hidden).includes('secret')")).toBe(true);
    expect(r("keyed[Symbol.for('k')]")).toBe("s");
    expect(r("typeof Object.getOwnPropertyDescriptor(getter, 'lazy').get")).toBe("function");
    expect(r("typeof Object.getOwnPropertyDescriptor(element, 4000).get")).toBe("function");
    expect(r("calls")).toBe(0);
    expect(r("holey.length === 5000 && !(4999 in holey) && holey[4998] === 4998")).toBe(true);
  });

  it("patches what JSON cannot carry into the tree: shared records, builtins, functions, odd numbers", async () => {
    const source = namespaceOf(`
      var calls = 0;
      const tags = [{ tag: "red" }, { tag: "green" }];
      var rows = Array.from({ length: 300 }, (_, i) => ({ id: i, tag: tags[i % 2], z: -0, n: NaN,
        u: undefined, big: 10n, when: new Date(i), sym: Symbol.for("s"), last: "end" }));
      var mixed = { list: [1, () => 2, new Map([["k", 1]]), new Float64Array([1.5])], deep: { keep: [1, 2] } };
      var self = { name: "self", inner: { up: null } }; self.inner.up = self;
      var twice = { item: { v: 1 } }; twice.again = twice.item;
      const pair = { p: 1 }; const inner = { pair, list: [pair] };
      var nested = { a: inner, b: inner, c: { pair } };
      var back = { child: { v: 1 } }; back.map = new Map([["c", back.child]]);
      var proto = JSON.parse('{"__proto__": 1, "other": 2}'); proto.fn = function named() { return 3; };
      var guarded = [{ ok: 1 }, { get lazy() { calls++; return 1; } }];
    `);
    const encoded = encodeNamespace(source.entries);
    expect(encoded.uncaptured).toEqual([]);
    expect(source.run("calls")).toBe(0);
    const kinds = nodeKinds(encoded.data);
    // rows: one JSON node with patches, the two tags, 300 dates and nothing per record.
    // guarded[1] (its getter), and back (the Map reaches its child: the tree is exploded).
    expect(kinds.filter((kind) => kind === "O")).toHaveLength(2);
    expect(kinds.filter((kind) => kind === "D")).toHaveLength(300);
    const r = (await restoreInto(encoded.data)).run;
    expect(
      r("rows.length === 300 && rows[0].tag === rows[2].tag && rows[1].tag !== rows[0].tag"),
    ).toBe(true);
    expect(r("rows[5].tag.tag")).toBe("green");
    expect(r("Object.keys(rows[7]).join()")).toBe("id,tag,z,n,u,big,when,sym,last");
    expect(
      r(
        "Object.is(rows[7].z, -0) && Number.isNaN(rows[7].n) && 'u' in rows[7] && rows[7].u === undefined",
      ),
    ).toBe(true);
    expect(
      r("rows[7].big === 10n && rows[7].sym === Symbol.for('s') && rows[7].when.getTime()"),
    ).toBe(7);
    expect(
      r("rows[7].when instanceof Date && Object.getPrototypeOf(rows[7]) === Object.prototype"),
    ).toBe(true);
    expect(r("mixed.list[1]() + mixed.list[2].get('k') + mixed.list[3][0]")).toBe(4.5);
    expect(r("mixed.list[0] === 1 && mixed.deep.keep.join()")).toBe("1,2");
    expect(r("self.inner.up === self && self.name")).toBe("self");
    expect(r("twice.again === twice.item && twice.item.v")).toBe(1);
    expect(r("nested.a === nested.b && nested.a.pair === nested.c.pair")).toBe(true);
    expect(r("nested.a.list[0] === nested.c.pair && nested.c.pair.p")).toBe(1);
    expect(r("back.map.get('c') === back.child && back.child.v")).toBe(1);
    expect(r("Object.hasOwn(proto, '__proto__') && proto['__proto__'] === 1 && proto.other")).toBe(
      2,
    );
    expect(r("Object.getPrototypeOf(proto) === Object.prototype && proto.fn()")).toBe(3);
    expect(r("Object.keys(proto).join()")).toBe("__proto__,other,fn");
    expect(
      r("guarded[0].ok === 1 && typeof Object.getOwnPropertyDescriptor(guarded[1], 'lazy').get"),
    ).toBe("function");
    expect(r("calls")).toBe(0);
  });

  it("rejects a patch whose path leaves its tree as CHECKPOINT_INVALID", async () => {
    const source = namespaceOf(`var data = { a: { b: 1n } };`);
    const encoded = encodeNamespace(source.entries);
    const payload = decode(encoded.data.subarray(10)) as { nodes: unknown[][] };
    expect(payload.nodes[0]![2]).toEqual([
      ["a", "b"],
      [3, "1"],
    ]);
    for (const path of [["a", "missing"], ["a", "b", "c"], ["__proto__", "x"], []]) {
      payload.nodes[0]![2] = [path, [3, "1"]];
      const error = await restoreInto(
        sealCheckpoint(encode(payload, { ignoreUndefined: false })),
      ).catch((e: unknown) => e);
      expect((error as { code?: string }).code).toBe("CHECKPOINT_INVALID");
    }
  });

  it("rejects a patch path through another patch's value (paths are followed before any is set)", async () => {
    const source = namespaceOf(`var shared = { c: 1 }; var data = { a: { b: shared } };`);
    const encoded = encodeNamespace(source.entries);
    const payload = decode(encoded.data.subarray(10)) as { nodes: unknown[][] };
    expect(payload.nodes.map((node) => node[0])).toEqual(["J", "J"]);
    const patches = payload.nodes[1]![2] as unknown[];
    expect(patches).toEqual([
      ["a", "b"],
      [0, 0],
    ]);
    // Well formed, it restores the identity; a second patch below the first is refused
    // (the encoder never writes one: a patched position is null in the JSON).
    expect((await restoreInto(encoded.data)).run("data.a.b === shared && shared.c")).toBe(1);
    payload.nodes[1]![2] = [...patches, ["a", "b", "c"], [3, "1"]];
    const error = await restoreInto(
      sealCheckpoint(encode(payload, { ignoreUndefined: false })),
    ).catch((e: unknown) => e);
    expect((error as { code?: string }).code).toBe("CHECKPOINT_INVALID");
  });

  it("never runs getters or toJSON: such data takes the node-by-node path", async () => {
    const source = namespaceOf(`
      var calls = 0;
      var withGetter = [1, 2, 3];
      Object.defineProperty(withGetter, 1, { get() { calls++; return 2; }, enumerable: true, configurable: true });
      var objGetter = { a: 1, get b() { calls++; return 2; } };
    `);
    const encoded = encodeNamespace(source.entries);
    expect(source.run("calls")).toBe(0);
    const restored = await restoreInto(encoded.data);
    expect(restored.run("calls")).toBe(0);
    expect(restored.run("typeof Object.getOwnPropertyDescriptor(withGetter, 1).get")).toBe(
      "function",
    );
    expect(restored.run("withGetter[1] + objGetter.b")).toBe(4);
    expect(restored.run("calls")).toBe(2);
  });

  it("does not use JSON when the source realm defines toJSON on a prototype it would consult", async () => {
    for (const where of ["Object.prototype", "Array.prototype"]) {
      const source = namespaceOf(`
        var calls = 0;
        Object.defineProperty(${where}, "toJSON", { get() { calls++; return undefined; }, configurable: true });
        var data = { list: [1, 2], inner: { x: 1 } };
      `);
      const encoded = encodeNamespace(source.entries.filter(([name]) => name === "data"));
      expect(source.run("calls")).toBe(0);
      // Objects consult Object.prototype; arrays consult both: then the object is JSON
      // and its array a separate node, patched in.
      const kinds = nodeKinds(encoded.data);
      if (where === "Object.prototype") expect(kinds).not.toContain("J");
      else expect(kinds).toEqual(["J", "A"]);
      const restored = await restoreInto(encoded.data);
      expect(restored.run("JSON.stringify(data)")).toBe('{"list":[1,2],"inner":{"x":1}}');
    }
  });

  it("keeps builtins with a replaced prototype out of JSON (never an empty {})", async () => {
    const source = namespaceOf(`
      var dated = { when: Object.setPrototypeOf(new Date(5), Object.prototype) };
      var mapped = { m: Object.setPrototypeOf(new Map([[1, 2]]), Object.prototype) };
      var boxed = { n: Object.setPrototypeOf(new Number(3), Object.prototype) };
      var weak = { r: Object.setPrototypeOf(new WeakRef({}), Object.prototype) };
    `);
    const encoded = encodeNamespace(source.entries);
    // The general path reports what it cannot re-create instead of losing the state.
    expect(encoded.uncaptured.map((u) => u.name)).toEqual(["dated", "mapped", "weak"]);
    const restored = await restoreInto(encoded.data);
    expect(restored.run("Number.prototype.valueOf.call(boxed.n)")).toBe(3);
  });

  it("rolls back a name that fails after exploding an earlier name's tree", async () => {
    const source = namespaceOf(`
      var a = { data: { x: 1 }, list: [1, 2] };
      var bad = { ref: a.data, weak: new WeakMap() };
      var c = { again: a.data };
    `);
    const encoded = encodeNamespace(source.entries);
    expect(encoded.uncaptured.map((u) => u.name)).toEqual(["bad"]);
    const restored = await restoreInto(encoded.data);
    expect(restored.run("c.again === a.data && a.data.x === 1 && a.list[1] === 2")).toBe(true);

    // Without a later name reaching it, the rolled-back explosion leaves `a` one JSON node.
    const alone = namespaceOf(`
      var a = { data: { x: 1 } };
      var bad = { ref: a.data, weak: new WeakSet() };
    `);
    const once = encodeNamespace(alone.entries);
    expect(once.uncaptured.map((u) => u.name)).toEqual(["bad"]);
    expect(nodeKinds(once.data)).toEqual(["J"]);
    expect((await restoreInto(once.data)).run("a.data.x")).toBe(1);
  });

  it("widens an increment to the name whose tree holds a newly shared member", async () => {
    const source = namespaceOf(`var a = { inner: { x: 1 } };`);
    const checkpointer = new NamespaceCheckpointer();
    const full = checkpointer.full(source.entries);
    source.run(`var b = a.inner;`);
    const global = source.run("globalThis") as Record<string, unknown>;
    const increment = checkpointer.incremental(
      [
        ["a", global.a],
        ["b", global.b],
      ],
      ["b"],
      [],
    );
    expect(increment.widenedBy).toEqual(["a"]);
    const target = namespaceOf("").context;
    const { values } = await applyCheckpoints([full.data, increment.data], target);
    const a = values.get("a") as { inner: unknown };
    expect(values.get("b")).toBe(a.inner);
  });

  it("restores a deep chain of plain objects (deeper than a tree may be) without recursion", async () => {
    const { restored } = await roundTrip(`
      var head = {}; var node = head;
      for (let i = 0; i < 5000; i++) { node.next = { i }; node = node.next; }
    `);
    expect(
      restored.run("let n = head, k = 0; while (n.next) { n = n.next; k++; } k + ':' + n.i"),
    ).toBe("5000:4999");
  });

  it("rejects a plain node whose JSON is damaged as CHECKPOINT_INVALID", async () => {
    const { encodeNamespace: encode } = await import("../../src/checkpoint/index.ts");
    const { sealCheckpoint } = await import("../../src/checkpoint/format.ts");
    const { encode: msgpack } = await import("@msgpack/msgpack");
    const body = msgpack({
      kind: "full",
      names: ["x", [0, 0]],
      nodes: [["J", new TextEncoder().encode('{"a":')]],
      removed: [],
      uncaptured: [],
    });
    expect(encode([]).uncaptured).toEqual([]);
    await expect(restoreInto(sealCheckpoint(body))).rejects.toMatchObject({
      code: "CHECKPOINT_INVALID",
    });
  });
});
