/**
 * Objects shared inside one plain tree (`src/checkpoint/plain-trees.ts`): a walk that
 * meets an object twice restarts with it patched while its budget lasts, then finishes
 * as a survey and walks once more. Whichever way a tree ends up, identity must hold after
 * restore, and the tree must still be one JSON node (the shared objects their own nodes).
 */
import { decode } from "@msgpack/msgpack";
import { describe, expect, it } from "vitest";
import { encodeNamespace } from "../../src/checkpoint/index.ts";
import { namespaceOf, restoreInto } from "./helpers.ts";

function kindsOf(data: Uint8Array): string[] {
  return (decode(data.subarray(10)) as { nodes: unknown[][] }).nodes.map((n) => n[0] as string);
}

async function roundTrip(code: string) {
  const source = namespaceOf(code);
  const encoded = encodeNamespace(source.entries);
  expect(encoded.uncaptured).toEqual([]);
  return { encoded, run: (await restoreInto(encoded.data)).run };
}

describe("objects shared inside one plain tree", () => {
  it("keeps a few shared tags (found within the first records) as one node each", async () => {
    const { encoded, run } = await roundTrip(`
      const tags = [{ tag: "red" }, { tag: "green" }, { tag: "blue" }];
      var rows = Array.from({ length: 3000 }, (_, i) => ({ id: i, tag: tags[i % 3] }));
    `);
    expect(kindsOf(encoded.data)).toEqual(["J", "J", "J", "J"]);
    expect(run("rows[0].tag === rows[2997].tag && rows[1].tag === rows[2998].tag")).toBe(true);
    expect(run("rows[0].tag !== rows[1].tag && rows[2999].tag.tag")).toBe("blue");
  });

  it("keeps identity when more objects are shared than restarts may cost (the survey path)", async () => {
    // Each pair of rows shares its own object: a restart per pair would be quadratic, so
    // the walks stop restarting once their budget is spent.
    const { encoded, run } = await roundTrip(`
      var rows = [];
      for (let i = 0; i < 5000; i++) { const pair = { pair: i }; rows.push({ a: pair }, { b: pair }); }
    `);
    const kinds = kindsOf(encoded.data);
    expect(kinds.every((kind) => kind === "J")).toBe(true);
    expect(kinds).toHaveLength(5001);
    expect(
      run(
        "rows.every((row, i) => i % 2 === 1 || (row.a === rows[i + 1].b && row.a.pair === i / 2))",
      ),
    ).toBe(true);
    expect(run("rows[0].a !== rows[2].a && rows.length")).toBe(10000);
  });

  it("keeps sharing nested in shared objects, and cycles below the root", async () => {
    const { run } = await roundTrip(`
      const leaf = { v: 1 };
      const box = { leaf };
      var t = { list: [box, box, leaf], deep: { again: box } };
      const loop = { name: "loop" }; loop.self = loop;
      var w = { loop, other: [loop] };
    `);
    expect(run("t.list[0] === t.list[1] && t.list[0] === t.deep.again")).toBe(true);
    expect(run("t.list[0].leaf === t.list[2] && t.list[2].v")).toBe(1);
    expect(run("w.loop.self === w.loop && w.other[0] === w.loop && w.loop.name")).toBe("loop");
  });
});
