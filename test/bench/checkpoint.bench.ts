/**
 * Checkpoint codec cost: `encodeNamespace` (checkpoint) and `decodeNamespace` (restore
 * into a fresh vm context) for namespaces of about 1 KiB, 1 MiB and 50 MiB, against
 * `v8.serialize` / `v8.deserialize` of the same values measured in the same run:
 * *plain* (records, arrays of numbers and strings, nothing shared: the JSON fast path)
 * and *mixed* (records sharing tag objects, a Float64Array, a Date, a Map: the records
 * are still one JSON node, the shared tags and builtins patched into it as separate
 * nodes). Sizes are printed too.
 *
 * Closures: a namespace of 1,000 closures each with its own scope, and of 1,000 closures
 * in 10 shared scopes, against 1,000 top-level functions (same count, no captured scope)
 * as the baseline. The shared case needs one heap snapshot the first time (which closures
 * share a scope); later checkpoints of the same functions reuse the cached answer, so
 * the first checkpoint is timed on its own, on freshly created closures each time.
 * Run: `node test/bench/run.ts checkpoint` (`CHECKPOINT_BENCH=data` for the data tables only).
 * Before/after in one run: `CHECKPOINT_BASE=<another checkout>` adds that tree's codec as
 * rows "… (base)", interleaved with the rest (e.g. `git worktree add --detach /tmp/base
 * <commit>` with node_modules linked in); each tree restores its own encoding.
 * Run with `node --expose-gc` for figures at 50 MiB: each of its samples then starts
 * after a full GC instead of paying for the garbage of the row timed before it (not at
 * the small sizes, where a full GC before each sample would be most of what is timed).
 */

import { pathToFileURL } from "node:url";
import v8 from "node:v8";
import vm from "node:vm";
import { scopeReader } from "../../src/checkpoint/closures.ts";
import { decodeNamespace, encodeNamespace, readNamespace } from "../../src/checkpoint/index.ts";
import { consume, type Measurement, printTable } from "./harness.ts";

const collectGarbage = (globalThis as { gc?: () => void }).gc;

type Codec = Pick<
  typeof import("../../src/checkpoint/index.ts"),
  "encodeNamespace" | "decodeNamespace"
>;

/** The codec of the tree named by `CHECKPOINT_BASE`, if any (see the header). */
const base: Codec | undefined =
  process.env.CHECKPOINT_BASE === undefined
    ? undefined
    : ((await import(
        pathToFileURL(`${process.env.CHECKPOINT_BASE}/src/checkpoint/index.ts`).href
      )) as Codec);

/**
 * Plain data: records (each with its own nested object), arrays of numbers and of
 * strings, a nested settings object — nothing shared, no builtins but Object and Array,
 * so every name is a plain tree (one JSON node, see src/checkpoint/plain-trees.ts).
 */
function plainNamespace(targetBytes: number): Array<[string, unknown]> {
  const context = vm.createContext({ third: Math.max(64, Math.floor(targetBytes / 3)) });
  vm.runInContext(
    `
    var records = Array.from({ length: Math.ceil(third / 70) }, (_, i) => ({
      id: i, name: "user" + i, score: i * 0.5, active: i % 2 === 0, tag: { tag: "red" },
    }));
    var numbers = Array.from({ length: Math.ceil(third / 9) }, (_, i) => i * 1.25);
    var strings = Array.from({ length: Math.ceil(third / 24) }, (_, i) => "line " + i + " of some text");
    var settings = { name: "bench", limits: { rows: 10, depth: [1, 2, 3] } };
    `,
    context,
  );
  const global = context as Record<string, unknown>;
  return ["records", "numbers", "strings", "settings"].map((name) => [name, global[name]]);
}

/** Builds the namespace inside a vm context, as user code in a session would. */
function mixedNamespace(targetBytes: number): Array<[string, unknown]> {
  const context = vm.createContext({ quarter: Math.max(64, Math.floor(targetBytes / 4)) });
  vm.runInContext(
    `
    // ~60 bytes per record in MessagePack; shared tag objects exercise identity.
    const tagPool = [{ tag: "red" }, { tag: "green" }, { tag: "blue" }];
    var records = Array.from({ length: Math.ceil(quarter / 60) }, (_, i) => ({
      id: i, name: "user" + i, score: i * 0.5, active: i % 2 === 0, tag: tagPool[i % 3],
    }));
    var numbers = Array.from({ length: Math.ceil(quarter / 9) }, (_, i) => i * 1.25);
    var strings = Array.from({ length: Math.ceil(quarter / 24) }, (_, i) => "line " + i + " of some text");
    var samples = new Float64Array(Math.ceil(quarter / 8)).map((_, i) => Math.sin(i));
    var settings = { name: "bench", created: new Date(0), limits: new Map([["rows", 10]]) };
    `,
    context,
  );
  const global = context as Record<string, unknown>;
  return ["records", "numbers", "strings", "samples", "settings"].map((name) => [
    name,
    global[name],
  ]);
}

async function time(
  name: string,
  operation: () => unknown,
  samples: number,
  batch: number,
): Promise<Measurement> {
  const [measurement] = await timeInterleaved([{ name, operation }], samples, batch);
  return measurement!;
}

/**
 * Times operations sample by sample in turn (a batch of one, then of the next, …), so a
 * baseline and the codec see the same machine: on a shared, loaded host a load spike
 * then inflates both instead of skewing their ratio.
 */
async function timeInterleaved(
  operations: ReadonlyArray<{ name: string; operation: () => unknown }>,
  samples: number,
  batch: number,
  collect = false,
): Promise<Measurement[]> {
  for (const { operation } of operations) {
    for (let i = 0; i < Math.min(3, samples); i++) consume(await operation());
  }
  const perOpNs = operations.map(() => [] as number[]);
  const totalNs = operations.map(() => 0);
  for (let s = 0; s < samples; s++) {
    // The rows take turns in an order that rotates every round: in a fixed order, a row
    // timed after another paid for that one's garbage and cache traffic, so that a tree
    // compared with itself (CHECKPOINT_BASE=<a copy of this checkout>) came out 4 % faster
    // at 1 MiB and 27 % at 50 MiB in the "(base)" row, which always ran last.
    for (let turn = 0; turn < operations.length; turn++) {
      const k = (turn + s) % operations.length;
      const { operation } = operations[k]!;
      // Large samples each start with no garbage of the one before (with --expose-gc): at
      // 50 MiB the next operation otherwise pays the previous one's major GC, so the order
      // of the rows decided their ratios (measured: 1.2x or 1.8x for the same restore).
      if (collect) collectGarbage?.();
      const start = process.hrtime.bigint();
      for (let i = 0; i < batch; i++) consume(await operation());
      const elapsed = Number(process.hrtime.bigint() - start);
      totalNs[k]! += elapsed;
      perOpNs[k]!.push(elapsed / batch);
    }
  }
  return operations.map(({ name }, k) => {
    const sorted = perOpNs[k]!.sort((a, b) => a - b);
    const at = (fraction: number) =>
      sorted[Math.max(0, Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1))]!;
    return {
      name,
      medianUs: at(0.5) / 1000,
      p99Us: at(0.99) / 1000,
      opsPerSec: (samples * batch) / (totalNs[k]! / 1e9),
    };
  });
}

function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(2)} MiB`;
  return `${(bytes / 1024).toFixed(2)} KiB`;
}

const FUNCTION_NAMESPACES = {
  "1,000 top-level functions": Array.from(
    { length: 1000 },
    (_, i) => `function f${i}(x) { return x + ${i}; }`,
  )
    .concat([`var fns = [${Array.from({ length: 1000 }, (_, i) => `f${i}`).join(", ")}];`])
    .join("\n"),
  "1,000 closures, own scopes": `
    function makeCounter(start) { let n = start; return () => ++n; }
    var fns = Array.from({ length: 1000 }, (_, i) => makeCounter(i));`,
  "1,000 closures, 10 shared scopes": `
    function group(g) { let total = g; return Array.from({ length: 100 }, () => (x) => (total += x)); }
    var fns = Array.from({ length: 10 }, (_, g) => group(g)).flat();`,
} as const;

/** The namespace of `code`, read as the worker reads it (descriptors). */
function functionNamespace(code: string): Array<[string, unknown]> {
  const context = vm.createContext();
  const before = new Set(vm.runInContext("Object.getOwnPropertyNames(globalThis)", context));
  vm.runInContext(code, context);
  const global = vm.runInContext("globalThis", context) as object;
  return readNamespace(
    global,
    Object.getOwnPropertyNames(global).filter((name) => !before.has(name)),
  );
}

/** Times a first checkpoint of fresh closures (creation excluded), `samples` times. */
function timeFirstEncode(name: string, code: string, samples: number): Measurement {
  const perOpNs: number[] = [];
  for (let s = 0; s < samples; s++) {
    const entries = functionNamespace(code);
    const start = process.hrtime.bigint();
    consume(encodeNamespace(entries));
    perOpNs.push(Number(process.hrtime.bigint() - start));
  }
  perOpNs.sort((a, b) => a - b);
  const at = (fraction: number) =>
    perOpNs[Math.max(0, Math.min(perOpNs.length - 1, Math.ceil(fraction * perOpNs.length) - 1))]!;
  return {
    name,
    medianUs: at(0.5) / 1000,
    p99Us: at(0.99) / 1000,
    opsPerSec: samples / (perOpNs.reduce((a, b) => a + b, 0) / 1e9),
  };
}

async function closureTables(): Promise<void> {
  const rows = Object.entries(FUNCTION_NAMESPACES).map(([label, code]) => {
    const entries = functionNamespace(code);
    return { label, code, entries, encoded: encodeNamespace(entries) };
  });
  for (const row of rows) {
    if (row.encoded.uncaptured.length > 0) {
      throw new Error(`${row.label}: uncaptured ${JSON.stringify(row.encoded.uncaptured)}`);
    }
  }
  const baseline = rows[0]!.label;
  const encode: Measurement[] = [];
  for (const row of rows) {
    encode.push(await time(row.label, () => encodeNamespace(row.entries), 30, 1));
  }
  printTable("checkpoint encode, 1,000 functions (scope ids cached)", encode, baseline);
  const reader = scopeReader();
  const snapshotsBefore = "unavailable" in reader ? 0 : reader.snapshotMs.length;
  const first = rows.map((row) => timeFirstEncode(row.label, row.code, 5));
  printTable("checkpoint encode, 1,000 fresh functions (first checkpoint)", first, baseline);
  if (!("unavailable" in reader)) {
    const taken = reader.snapshotMs.slice(snapshotsBefore).sort((a, b) => a - b);
    console.log(
      `heap snapshots taken by the first checkpoints: ${taken.length}, median ${taken[Math.floor(taken.length / 2)]?.toFixed(0) ?? "-"} ms each (write + parse; heap ${(process.memoryUsage().heapUsed / 2 ** 20).toFixed(0)} MiB)`,
    );
  }
  const target = vm.createContext();
  const restore: Measurement[] = [];
  for (const row of rows) {
    restore.push(await time(row.label, () => decodeNamespace(row.encoded.data, target), 30, 1));
  }
  printTable("checkpoint restore, 1,000 functions", restore, baseline);
  console.log(
    rows
      .map((row) => `${row.label}: ${formatBytes(row.encoded.bytes)}`)
      .join("; ")
      .replace(/^/, "encoded size: "),
  );
}

export default async function run(): Promise<void> {
  // CHECKPOINT_BENCH=data skips the closure tables (minutes on a loaded machine).
  if (process.env.CHECKPOINT_BENCH !== "data") await closureTables();
  const sizes = [
    { label: "1 KiB", bytes: 1024, samples: 200, batch: 20 },
    { label: "1 MiB", bytes: 1024 * 1024, samples: 30, batch: 1 },
    { label: "50 MiB", bytes: 50 * 1024 * 1024, samples: 5, batch: 1 },
  ];
  const kinds = [
    { label: "plain", build: plainNamespace },
    { label: "mixed", build: mixedNamespace },
  ];
  for (const size of sizes)
    for (const kind of kinds) await dataTables(`${size.label} ${kind.label}`, kind.build, size);
}

/**
 * The part of an encode no getter-free codec avoids: every own property of every
 * ordinary object and array read by descriptor (as `plain-trees.ts` must), each object
 * once. Nothing is written. Shown as a row so the codec's distance from it is visible.
 */
function descriptorReads(entries: Array<[string, unknown]>): number {
  const seen = new Set<object>();
  const stack: unknown[] = entries.map(([, value]) => value);
  let count = 0;
  while (stack.length > 0) {
    const value = stack.pop();
    if (typeof value !== "object" || value === null || seen.has(value)) continue;
    seen.add(value);
    if (ArrayBuffer.isView(value)) continue;
    const read = (key: string | number) => {
      const descriptor = Reflect.getOwnPropertyDescriptor(value, key);
      const item: unknown = descriptor?.value;
      if (typeof item === "object" && item !== null) stack.push(item);
      count++;
    };
    if (Array.isArray(value)) for (let i = 0; i < value.length; i++) read(i);
    else {
      for (const key of Object.getOwnPropertyNames(value)) read(key);
      count += Object.getOwnPropertySymbols(value).length;
    }
  }
  return count;
}

async function dataTables(
  label: string,
  build: (bytes: number) => Array<[string, unknown]>,
  size: { bytes: number; samples: number; batch: number },
): Promise<void> {
  const entries = build(size.bytes);
  const asObject = Object.fromEntries(entries);
  const maxBytes = 256 * 1024 * 1024;
  const encoded = encodeNamespace(entries, { maxBytes });
  const serialized = v8.serialize(asObject);
  const encode = await timeInterleaved(
    [
      { name: "v8.serialize", operation: () => v8.serialize(asObject) },
      { name: "encodeNamespace", operation: () => encodeNamespace(entries, { maxBytes }) },
      { name: "descriptor reads alone", operation: () => descriptorReads(entries) },
      ...(base === undefined
        ? []
        : [
            {
              name: "encodeNamespace (base)",
              operation: () => base.encodeNamespace(entries, { maxBytes }),
            },
          ]),
    ],
    size.samples,
    size.batch,
    size.bytes >= 16 * 1024 * 1024,
  );
  printTable(`checkpoint encode, ${label} namespace`, encode, "v8.serialize");
  // decodeNamespace does not assign into the context, so one target serves every run and
  // the numbers measure the codec, not vm.createContext (~0.4 ms).
  const target = vm.createContext();
  const baseData = base?.encodeNamespace(entries, { maxBytes }).data;
  const decode = await timeInterleaved(
    [
      { name: "v8.deserialize", operation: () => v8.deserialize(serialized) },
      { name: "decodeNamespace", operation: () => decodeNamespace(encoded.data, target) },
      ...(base === undefined || baseData === undefined
        ? []
        : [
            {
              name: "decodeNamespace (base)",
              operation: () => base.decodeNamespace(baseData, target),
            },
          ]),
    ],
    size.samples,
    size.batch,
    size.bytes >= 16 * 1024 * 1024,
  );
  printTable(`checkpoint restore, ${label} namespace`, decode, "v8.deserialize");
  console.log(
    `encoded size: checkpoint ${formatBytes(encoded.bytes)}, v8.serialize ${formatBytes(serialized.byteLength)} (ratio ${(encoded.bytes / serialized.byteLength).toFixed(2)}x)`,
  );
}
