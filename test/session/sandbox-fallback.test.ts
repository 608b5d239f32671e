/**
 * Where bubblewrap cannot run, `auto` falls back to the permission model alone and says
 * so once per process; `namespaces` refuses to start. Run in a host process whose PATH
 * has no `bwrap`.
 */
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { killJsonLinesChildren, startJsonLinesChild } from "../support/json-lines-child.ts";

const HOST = fileURLToPath(new URL("./fixtures/fallback-host.ts", import.meta.url));

afterEach(killJsonLinesChildren);

describe("sandbox fallback", () => {
  it("auto warns once and runs with permissions only; namespaces fails with a clear error", async () => {
    const host = startJsonLinesChild(HOST, [], { PATH: "" });
    const report = await host.next("done");
    expect(report.values).toEqual([42, 42]);
    const fallbacks = (report.warnings as { code?: string; message: string }[]).filter(
      (warning) => warning.code === "CAPSULE_SANDBOX_FALLBACK",
    );
    expect(fallbacks).toHaveLength(1);
    expect(fallbacks[0]!.message).toMatch(/bubblewrap is not usable here/);
    expect(report.strictError).toMatchObject({
      code: "WORKER_START_FAILED",
      message: expect.stringContaining('sandbox "namespaces" was requested'),
    });
    expect(await host.exited).toEqual({ code: 0, signal: null });
  });
});
