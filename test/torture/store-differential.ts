/**
 * Store differential: seeded request sequences applied to the embedded store (closed and
 * reopened every few requests, so the rebuild from the file is exercised) and to the
 * SDK's own in-memory server, on the same clock. The one intended difference, the fast
 * recovery every open performs (recovery.ts: leases of the previous owner released, lost
 * dispatches re-sent), is applied to the reference at the same moments. Every response
 * and, after every reopen, the whole state (`debug.snap`, minus the message buffer the
 * store drains) must be equal.
 * Deadlines at the extremes (near 2^53) are part of the vocabulary.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Request } from "@resonatehq/sdk";
import { EmbeddedNetwork } from "../../durable/store/index.ts";
import { releaseOrphanedTasks } from "../../durable/store/recovery.ts";
import { createProtocolServer } from "../../durable/store/sdk.ts";
import { mulberry32, randomInt } from "../protocol/prng.ts";
import type { Figures } from "./figures.ts";

const VERSION = "2026-04-01";
const HOUR = 3_600_000;

type Req = Request;

export async function storeDifferential(
  options: { seed: number; sequences: number; requests: number },
  figures: Figures,
): Promise<void> {
  for (let sequence = 0; sequence < options.sequences; sequence++) {
    const seed = (options.seed + sequence * 7919) >>> 0;
    const violation = await oneSequence(seed, options.requests).catch(
      (error: unknown) =>
        `threw: ${(error as Error).stack ?? String(error)}${(error as Error).cause ? ` (cause: ${String((error as Error).cause)})` : ""}`,
    );
    figures.record(
      "store differential sequence",
      violation === undefined ? {} : { violation: `seed ${seed}: ${violation}` },
    );
  }
}

async function oneSequence(seed: number, count: number): Promise<string | undefined> {
  const random = mulberry32(seed);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "capsule-differential-"));
  let clock = 1_800_000_000_000;
  const reference = createProtocolServer();
  const open = () =>
    EmbeddedNetwork.open({
      dir,
      now: () => clock,
      keepLeasesAlive: false,
      tickIntervalMs: 2 ** 30,
      durability: "process",
    });
  let network = open();
  const reopenEvery = 3 + randomInt(random, 12);
  try {
    for (let i = 0; i < count; i++) {
      const request = nextRequest(random, clock);
      if (request.kind === "debug.tick") clock = request.data.time;
      const want = reference.apply(clock, request).response;
      const got = await network.send(request as never);
      const a = canonical({ status: want.head.status, data: want.data });
      const b = canonical({
        status: (got as { head: { status: number } }).head.status,
        data: (got as { data: unknown }).data,
      });
      if (a !== b)
        return `request ${i} ${request.kind}: in-memory ${a.slice(0, 300)} vs embedded ${b.slice(0, 300)}`;
      if ((i + 1) % reopenEvery === 0) {
        await network.close();
        network = open();
        releaseOrphanedTasks(reference, clock);
        const mismatch = await compareState(reference, network, clock);
        if (mismatch !== undefined) return `after reopen at request ${i}: ${mismatch}`;
      }
    }
    return await compareState(reference, network, clock);
  } finally {
    await network.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function compareState(
  reference: ReturnType<typeof createProtocolServer>,
  network: EmbeddedNetwork,
  clock: number,
): Promise<string | undefined> {
  const head = { corrId: "snap", version: VERSION };
  const want = reference.apply(clock, { kind: "debug.snap", head, data: {} } as Req).response.data;
  const got = (await network.send({ kind: "debug.snap", head, data: {} } as never)) as {
    data: unknown;
  };
  const a = records(withoutMessages(want));
  const b = records(withoutMessages(got.data));
  const differences: string[] = [];
  for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const left = new Set(a[key]);
    const right = new Set(b[key]);
    const onlyLeft = [...left].filter((x) => !right.has(x));
    const onlyRight = [...right].filter((x) => !left.has(x));
    if (onlyLeft.length + onlyRight.length > 0)
      differences.push(
        `${key}: in-memory only ${onlyLeft.join(" ")}; embedded only ${onlyRight.join(" ")}`,
      );
  }
  return differences.length === 0
    ? undefined
    : `state differs: ${differences.join("; ").slice(0, 1500)}`;
}

/** Each list of the snapshot as a set of canonical records. */
function records(snap: unknown): Record<string, string[]> {
  const lists = JSON.parse(canonical(snap)) as Record<string, unknown>;
  return Object.fromEntries(
    Object.entries(lists).map(([key, list]) => [
      key,
      Array.isArray(list) ? (list as string[]) : [JSON.stringify(list)],
    ]),
  );
}

function withoutMessages(snap: unknown): unknown {
  if (typeof snap !== "object" || snap === null) return snap;
  const { messages: _drained, ...rest } = snap as Record<string, unknown>;
  return rest;
}

/** JSON with object keys and arrays of records sorted: Map order differs after a rebuild. */
function canonical(value: unknown): string {
  const normalize = (v: unknown): unknown => {
    if (Array.isArray(v))
      return v
        .map(normalize)
        .map((x) => JSON.stringify(x))
        .sort();
    if (typeof v === "object" && v !== null)
      return Object.fromEntries(
        Object.keys(v)
          .sort()
          .map((k) => [k, normalize((v as Record<string, unknown>)[k])]),
      );
    return v;
  };
  return JSON.stringify(normalize(value));
}

const IDS = ["p0", "p1", "p2", "p3", "p4", "p5"];
const PIDS = ["w1", "w2"];

function nextRequest(random: () => number, clock: number): Req {
  const head = { corrId: `c${randomInt(random, 1e9)}`, version: VERSION };
  const pick = <T>(items: readonly T[]): T => items[randomInt(random, items.length)] as T;
  const id = pick(IDS);
  const timeoutAt = pick([
    clock + 1 + randomInt(random, 10_000),
    clock + HOUR,
    2 ** 53 - 1 - randomInt(random, 1000),
    Number.MAX_SAFE_INTEGER,
    clock - 1,
  ]);
  const tags = random() < 0.5 ? { "resonate:target": `local://any@default/${pick(PIDS)}` } : {};
  const create = {
    kind: "promise.create",
    head,
    data: { id, timeoutAt, param: { data: "x" }, tags },
  };
  const version = 1 + randomInt(random, 3);
  switch (randomInt(random, 12)) {
    case 0:
    case 1:
      return create as Req;
    case 2:
      return { kind: "promise.get", head, data: { id } } as Req;
    case 3:
      return {
        kind: "promise.settle",
        head,
        data: {
          id,
          state: pick(["resolved", "rejected", "rejected_canceled"]),
          value: { data: "v" },
        },
      } as Req;
    case 4:
      return {
        kind: "promise.register_callback",
        head,
        data: { awaiter: pick(IDS), awaited: id },
      } as Req;
    case 5:
      return {
        kind: "task.create",
        head,
        data: {
          pid: pick(PIDS),
          ttl: pick([1_000, 60_000, Number.MAX_SAFE_INTEGER]),
          action: {
            ...create,
            data: {
              ...create.data,
              tags: { "resonate:target": `local://any@default/${pick(PIDS)}` },
            },
          },
        },
      } as Req;
    case 6:
      return {
        kind: "task.acquire",
        head,
        data: { id, version, pid: pick(PIDS), ttl: pick([1_000, 60_000]) },
      } as Req;
    case 7:
      return {
        kind: "task.heartbeat",
        head,
        data: { pid: pick(PIDS), tasks: [{ id, version }] },
      } as Req;
    case 8:
      return {
        kind: "task.fulfill",
        head,
        data: {
          id,
          version,
          action: {
            kind: "promise.settle",
            head,
            data: { id, state: "resolved", value: { data: "done" } },
          },
        },
      } as Req;
    case 9:
      return { kind: "task.release", head, data: { id, version } } as Req;
    case 10:
      return {
        kind: "task.suspend",
        head,
        data: {
          id,
          version,
          actions: [
            { kind: "promise.register_callback", head, data: { awaiter: id, awaited: pick(IDS) } },
          ],
        },
      } as Req;
    default:
      return {
        kind: "debug.tick",
        head,
        data: { time: clock + pick([10, 1_000, 70_000, HOUR]) },
      } as Req;
  }
}
