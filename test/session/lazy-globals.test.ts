/**
 * Node creates some globals only when first read (`FormData`, `Headers`, `TransformStream`:
 * reading `FormData` loads undici and http2). A session exposes them without creating
 * them, so a session that never uses them does not pay for them, and a cell that does
 * sees them exactly as in Node: usable, replaceable, checkpointed by name.
 */
import { once } from "node:events";
import { describe, expect, it } from "vitest";
import { startSession } from "./helpers.ts";

const UNDICI_LOADED = "process.moduleLoadList.some((name) => name.includes('undici'))";

describe("Node's lazily created globals", () => {
  it("are created on a cell's first use, not at session start", async () => {
    const session = await startSession();
    expect((await session.execute(UNDICI_LOADED)).value).toBe(false);
    const used = await session.execute(
      "typeof FormData + ' ' + new Headers({ a: '1' }).get('a') + ' ' + typeof new TransformStream().readable",
    );
    expect(used.value).toBe("function 1 object");
    expect((await session.execute(UNDICI_LOADED)).value).toBe(true);
    // The real property is in place after the first read: the worker's own class.
    const same = await session.execute(
      "Object.getOwnPropertyDescriptor(globalThis, 'TransformStream').value === require('node:stream/web').TransformStream",
    );
    expect(same.value).toBe(true);
  });

  it("can be replaced or deleted by a cell before and after their first use", async () => {
    const session = await startSession();
    expect((await session.execute("globalThis.Headers = 5; Headers")).value).toBe(5);
    expect((await session.execute("delete globalThis.Request; typeof Request")).value).toBe(
      "undefined",
    );
    await session.execute("typeof Response");
    expect((await session.execute("Response = 'mine'; Response")).value).toBe("mine");
  });

  it("travel through a checkpoint by name, even when first reached another way", async () => {
    const session = await startSession();
    // `fd` is reached through an instance, before the global `FormData` is ever read.
    await session.execute(
      "const H = Headers; const fdClass = (await new Response(new URLSearchParams('a=1')).formData()).constructor",
    );
    const exited = once(session, "worker-exit");
    process.kill(session.pid!, "SIGKILL");
    await exited;
    const r = await session.execute("[H === Headers, fdClass === FormData, fdClass.name]");
    expect(r.value).toEqual([true, true, "FormData"]);
  });
});
