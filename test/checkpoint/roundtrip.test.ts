import { types } from "node:util";
import vm from "node:vm";
import { describe, expect, it } from "vitest";
import { decodeNamespace, encodeNamespace } from "../../src/checkpoint/index.ts";
import { namespaceOf, restoreInto } from "./helpers.ts";

async function roundTrip(code: string) {
  const source = namespaceOf(code);
  const encoded = encodeNamespace(source.entries);
  expect(encoded.uncaptured).toEqual([]);
  return { source, encoded, restored: await restoreInto(encoded.data) };
}

describe("checkpoint round trip of data values", () => {
  it("keeps primitives, including undefined, -0, NaN, BigInt and registered symbols", async () => {
    const { restored } = await roundTrip(`
      var n = 42, f = -1.5, s = "héllo", t = true, nul = null, u = undefined;
      var negZero = -0, nan = NaN, inf = -Infinity, big = 2n ** 100n, sym = Symbol.for("app.key");
      var huge = 2 ** 60;
    `);
    const v = restored.values;
    expect(v.get("n")).toBe(42);
    expect(v.get("f")).toBe(-1.5);
    expect(v.get("s")).toBe("héllo");
    expect(v.get("t")).toBe(true);
    expect(v.get("nul")).toBeNull();
    expect(v.has("u")).toBe(true);
    expect(v.get("u")).toBeUndefined();
    expect(Object.is(v.get("negZero"), -0)).toBe(true);
    expect(Number.isNaN(v.get("nan"))).toBe(true);
    expect(v.get("inf")).toBe(Number.NEGATIVE_INFINITY);
    expect(v.get("big")).toBe(2n ** 100n);
    expect(v.get("sym")).toBe(Symbol.for("app.key"));
    expect(v.get("huge")).toBe(2 ** 60);
  });

  it("re-creates builtins as objects of the target context", async () => {
    const { restored } = await roundTrip(`
      var d = new Date(1700000000123);
      var re = /a(b+)/gi; re.lastIndex = 3;
      var m = new Map([["k", 1], [2, { deep: true }]]);
      var st = new Set([1, "two", 3n]);
      var arr = [1, "x", [2, 3]];
      var obj = { a: 1, nested: { b: [true] } };
      var bare = Object.create(null); bare.k = "v";
      var boxed = [new Number(5), new String("ab"), new Boolean(false)];
    `);
    const r = restored.run;
    expect(r("d instanceof Date && d.getTime()")).toBe(1700000000123);
    expect(r("re instanceof RegExp && re.source + '/' + re.flags + '/' + re.lastIndex")).toBe(
      "a(b+)/gi/3",
    );
    expect(r("m instanceof Map && m.get('k') === 1 && m.get(2).deep")).toBe(true);
    expect(r("st instanceof Set && st.has('two') && st.has(3n) && st.size")).toBe(3);
    expect(r("Array.isArray(arr) && arr instanceof Array && arr[2] instanceof Array")).toBe(true);
    expect(r("JSON.stringify(arr)")).toBe('[1,"x",[2,3]]');
    expect(r("obj instanceof Object && Object.getPrototypeOf(obj) === Object.prototype")).toBe(
      true,
    );
    expect(r("obj.nested.b[0]")).toBe(true);
    expect(r("Object.getPrototypeOf(bare) === null && bare.k")).toBe("v");
    expect(r("boxed[0] instanceof Number && boxed[0] + 1")).toBe(6);
    expect(r("boxed[1] instanceof String && boxed[1].length")).toBe(2);
    expect(r("boxed[2] instanceof Boolean && boxed[2].valueOf()")).toBe(false);
  });

  it("keeps sparse arrays sparse and extra array properties", async () => {
    const { restored } = await roundTrip(`
      var holes = [1, , 3]; holes.label = "h";
      var sparse = []; sparse[1000000] = "far"; sparse[3] = "near";
    `);
    expect(restored.run("holes.length === 3 && !(1 in holes) && holes[2] === 3")).toBe(true);
    expect(restored.run("holes.label")).toBe("h");
    expect(restored.run("sparse.length")).toBe(1000001);
    expect(restored.run("Object.keys(sparse).join()")).toBe("3,1000000");
  });

  it("keeps shared references and cycles, across different names", async () => {
    const { restored } = await roundTrip(`
      var a = { name: "a" }; var b = a;
      var list = [a, a];
      var cyc = { }; cyc.self = cyc;
      var m = new Map(); m.set(m, m);
      var x = { }; var y = { x }; x.y = y;
    `);
    const r = restored.run;
    expect(r("a === b && list[0] === a && list[1] === a")).toBe(true);
    expect(r("cyc.self === cyc")).toBe(true);
    expect(r("m.get(m) === m")).toBe(true);
    expect(r("x.y === y && y.x === x")).toBe(true);
  });

  it("handles a 100k-long linked list and an own __proto__ key without recursion", async () => {
    const { restored } = await roundTrip(`
      var head = null; for (let i = 0; i < 100000; i++) head = { i, next: head };
      var weird = JSON.parse('{"__proto__": {"x": 1}, "y": 2}');
    `);
    expect(restored.run("let c = 0; for (let n = head; n; n = n.next) c++; c")).toBe(100000);
    expect(
      restored.run(
        "Object.hasOwn(weird, '__proto__') && Object.getPrototypeOf(weird) === Object.prototype",
      ),
    ).toBe(true);
    expect(restored.run("weird.__proto__.x + weird.y")).toBe(3);
  });

  it("keeps typed arrays sharing one buffer, DataViews and ArrayBuffers", async () => {
    const { restored } = await roundTrip(`
      var buf = new ArrayBuffer(16);
      var bytes = new Uint8Array(buf);
      var words = new Float64Array(buf, 8, 1);
      var view = new DataView(buf, 4, 4);
      bytes[0] = 7; words[0] = Math.PI; view.setInt16(0, -2);
      var ints = new Int32Array([1, -2, 3]);
      var bigs = new BigInt64Array([5n, -6n]);
    `);
    const r = restored.run;
    expect(r("bytes instanceof Uint8Array && bytes.buffer === buf && words.buffer === buf")).toBe(
      true,
    );
    expect(r("view instanceof DataView && view.buffer === buf && view.getInt16(0)")).toBe(-2);
    expect(r("bytes[0]")).toBe(7);
    expect(r("words[0]")).toBe(Math.PI);
    expect(r("bytes[9] = 1; words[0] === Math.PI")).toBe(false); // views alias the buffer
    expect(r("Array.from(ints).join()")).toBe("1,-2,3");
    expect(r("bigs instanceof BigInt64Array && bigs[1]")).toBe(-6n);
  });

  it("restores Node Buffers as Buffers where the target has Buffer, else as Uint8Array", async () => {
    const encoded = encodeNamespace([["payload", Buffer.from("hi there")]]);
    expect(encoded.uncaptured).toEqual([]);
    const plain = await restoreInto(encoded.data);
    expect(plain.run("payload instanceof Uint8Array && String.fromCharCode(...payload)")).toBe(
      "hi there",
    );
    const context = vm.createContext({ Buffer });
    const { values } = await decodeNamespace(encoded.data, context);
    expect(Buffer.isBuffer(values.get("payload"))).toBe(true);
    expect(String(values.get("payload"))).toBe("hi there");
  });

  it("keeps errors with name, message, stack, cause and own properties", async () => {
    const { source, restored } = await roundTrip(`
      var err = new TypeError("bad input", { cause: { field: "x" } });
      err.code = "E_BAD";
      var plain = new Error("plain");
    `);
    const original = source.run("err.stack");
    const r = restored.run;
    expect(r("err instanceof TypeError && err.name + ': ' + err.message")).toBe(
      "TypeError: bad input",
    );
    expect(r("err.stack")).toBe(original);
    expect(r("err.cause.field")).toBe("x");
    expect(r("err.code")).toBe("E_BAD");
    expect(types.isNativeError(restored.values.get("plain"))).toBe(true);
    expect(r("Object.keys(plain).length")).toBe(0);
  });

  it("keeps property attributes and getters/setters", async () => {
    const { restored } = await roundTrip(`
      var o = { _v: 1, get v() { return this._v * 10; }, set v(x) { this._v = x; } };
      Object.defineProperty(o, "hidden", { value: "h", enumerable: false, writable: false });
      var keyed = { [Symbol.for("k")]: 1, [Symbol.iterator]: function* () { yield 1; yield 2; } };
    `);
    const r = restored.run;
    expect(r("o.v")).toBe(10);
    expect(r("o.v = 3; o.v")).toBe(30);
    expect(r("Object.getOwnPropertyDescriptor(o, 'hidden').enumerable")).toBe(false);
    expect(r("o.hidden = 'changed'; o.hidden")).toBe("h");
    expect(r("keyed[Symbol.for('k')]")).toBe(1);
    expect(r("[...keyed].join()")).toBe("1,2");
  });
});
