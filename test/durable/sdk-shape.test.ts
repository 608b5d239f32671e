// Fails loudly when @resonatehq/sdk changes what the embedded store relies on. If this
// fails after an SDK upgrade, re-read node_modules/@resonatehq/sdk/dist/src/network/local.js
// and adapt durable/store/ before changing the pin.
import { LocalNetwork } from "@resonatehq/sdk";
import { Resonate } from "@resonatehq/sdk/async";
import sdkPackage from "@resonatehq/sdk/package.json" with { type: "json" };
import { describe, expect, it } from "vitest";
import {
  createProtocolServer,
  describeShapeMismatch,
  HANDLED_CHANGE_KINDS,
  PINNED_SDK_VERSION,
} from "../../durable/store/sdk.ts";
import projectPackage from "../../package.json" with { type: "json" };

const head = { corrId: "shape", version: "2026-04-01" };
const HOUR = 3_600_000;

describe("the Resonate SDK internals the embedded store relies on", () => {
  it("is exactly the pinned version, installed and declared", () => {
    expect(sdkPackage.version).toBe("0.11.5");
    expect(PINNED_SDK_VERSION).toBe("0.11.5");
    expect(projectPackage.dependencies["@resonatehq/sdk"]).toBe("0.11.5");
  });

  it("LocalNetwork carries a Server with the fields and methods the store uses", () => {
    const carrier: unknown = Reflect.get(new LocalNetwork(), "server");
    expect(describeShapeMismatch(carrier)).toEqual([]);
    const server = createProtocolServer();
    expect(describeShapeMismatch(server)).toEqual([]);
    expect(server.promises.size + server.tasks.size + server.outgoing.length).toBe(0);
  });

  it("apply returns { response, changes } and reports only the change kinds the store handles", () => {
    const server = createProtocolServer();
    const now = Date.now();
    const seen = new Set<string>();
    const apply = (req: Parameters<typeof server.apply>[1], at = now) => {
      const result = server.apply(at, req);
      expect(Object.keys(result).sort()).toEqual(["changes", "response"]);
      for (const change of result.changes) seen.add(change.kind);
      return result;
    };
    const target = { "resonate:target": "local://any@default/p" };
    apply({
      kind: "task.create",
      head,
      data: {
        pid: "p",
        ttl: 1_000,
        action: {
          kind: "promise.create",
          head,
          data: { id: "root", timeoutAt: now + HOUR, param: {}, tags: target },
        },
      },
    });
    apply({
      kind: "promise.create",
      head,
      data: { id: "child", timeoutAt: now + HOUR, param: {}, tags: target },
    });
    const suspend = apply({
      kind: "task.suspend",
      head,
      data: {
        id: "root",
        version: 1,
        actions: [
          { kind: "promise.register_callback", head, data: { awaiter: "root", awaited: "child" } },
        ],
      },
    });
    expect(suspend.response.head.status).toBe(200);
    expect(server.promises.get("child")?.callbacks).toBeInstanceOf(Set);
    expect(server.tasks.get("root")?.resumes).toBeInstanceOf(Set);
    apply({ kind: "promise.settle", head, data: { id: "child", state: "resolved", value: {} } });
    // The lease of the re-dispatched root (acquired again below) lapses on a tick.
    apply({ kind: "task.acquire", head, data: { id: "root", version: 1, pid: "p", ttl: 1_000 } });
    expect(server.tTimeouts.find((t) => t.id === "root")).toMatchObject({ type: 1 });
    apply({
      kind: "task.heartbeat",
      head,
      data: { pid: "p", tasks: [{ id: "root", version: 2 }] },
    });
    apply({ kind: "debug.tick", head, data: { time: now + 2_000 } }, now + 2_000);
    expect(server.tasks.get("root")).toMatchObject({ state: "pending", pid: undefined });
    apply({
      kind: "schedule.create",
      head,
      data: {
        id: "every-minute",
        cron: "* * * * *",
        promiseId: "s-{{.timestamp}}",
        promiseTimeout: HOUR,
        promiseParam: {},
        promiseTags: target,
      },
    });
    apply({ kind: "debug.tick", head, data: { time: now + 120_000 } }, now + 120_000);
    apply({ kind: "schedule.delete", head, data: { id: "every-minute" } });
    apply({
      kind: "promise.create",
      head,
      data: { id: "expiring", timeoutAt: now + 10, param: {}, tags: target },
    });
    apply({ kind: "debug.tick", head, data: { time: now + 200_000 } }, now + 200_000);

    const handled = new Set<string>(HANDLED_CHANGE_KINDS);
    expect([...seen].filter((kind) => !handled.has(kind))).toEqual([]);
    expect([...seen].sort()).toEqual([...handled].sort());
    // The SDK's buffer of sent messages is never drained by the SDK itself.
    expect(server.outgoing.length).toBeGreaterThan(0);
  });

  it("the async Resonate accepts a custom network and does not heartbeat tasks it starts with run", async () => {
    const source = await import("node:fs").then((fs) =>
      fs.readFileSync(new URL("./async/core.js", import.meta.resolve("@resonatehq/sdk")), "utf8"),
    );
    // Only Core.onMessage (an `execute` message) starts the heartbeat; run() calls
    // executeUntilBlocked directly. durable/store/keepalive.ts exists because of this.
    expect(source.match(/this\.heartbeat\.start\(/g)).toHaveLength(1);
    expect(source).toMatch(
      /this\.heartbeat\.start\(acquiredTask\);\s*try \{\s*return await this\.executeUntilBlocked/,
    );
    const resonate = new Resonate({ network: new LocalNetwork() });
    expect(Reflect.get(resonate, "network")).toBeInstanceOf(LocalNetwork);
    await resonate.stop();
  });
});
