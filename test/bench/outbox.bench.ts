/**
 * What `capsule serve`'s outbox costs (durable/store/outbox.ts): one invocation as serve
 * sees it — `promise.create` with a target (the server creates its task and sends an
 * `execute`), the message handed to the subscriber once committed, and the task's
 * `task.acquire` by the poller — on the embedded store without the outbox (messages
 * delivered from memory, baseline) and with it (the message a row in the create's
 * transaction, deleted after delivery, and superseded by the claim). Durability
 * `process`, as serve runs. The two stores are measured in alternating rounds of the
 * same run, so that machine load falls on both alike.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Message } from "@resonatehq/sdk";
import { EmbeddedNetwork } from "../../durable/store/index.ts";
import { fromDurationsNs, printTable } from "./harness.ts";

const ROUNDS = 20;
const PER_ROUND = 50;
const WARMUP = 100;
const BASELINE = "messages in memory";
const OUTBOX = "messages in the outbox";
const HOUR = 3_600_000;

interface Subject {
  name: string;
  store: EmbeddedNetwork;
  waiting: Map<string, () => void>;
  samples: bigint[];
  next: number;
}

function open(root: string, name: string, persistMessages: boolean): Subject {
  const store = EmbeddedNetwork.open({
    dir: path.join(root, persistMessages ? "outbox" : "memory"),
    keepLeasesAlive: false,
    leasesOnOpen: "keep",
    persistMessages,
  });
  const waiting = new Map<string, () => void>();
  store.recv((message: Message, _address: string, delivered: () => void) => {
    delivered();
    if (message.kind !== "execute") return;
    waiting.get(message.data.task.id)?.();
  });
  return { name, store, waiting, samples: [], next: 0 };
}

const head = (n: number) => ({ corrId: `b${n}`, version: "2026-04-01" });

async function invocation(subject: Subject): Promise<void> {
  const id = `job-${subject.next++}`;
  const executed = new Promise<void>((resolve) => subject.waiting.set(id, resolve));
  await subject.store.send({
    kind: "promise.create",
    head: head(subject.next),
    data: {
      id,
      timeoutAt: Date.now() + HOUR,
      param: { headers: {}, data: "" },
      tags: { "resonate:target": "poll://any@workers", "resonate:scope": "global" },
    },
  });
  await executed;
  subject.waiting.delete(id);
  const acquired = await subject.store.send({
    kind: "task.acquire",
    head: head(subject.next),
    data: { id, version: 0, pid: "bench", ttl: HOUR },
  });
  if (acquired.head.status !== 200) throw new Error(`acquire ${id}: ${acquired.head.status}`);
}

async function round(subject: Subject, count: number, record: boolean): Promise<void> {
  for (let i = 0; i < count; i++) {
    const started = process.hrtime.bigint();
    await invocation(subject);
    if (record) subject.samples.push(process.hrtime.bigint() - started);
  }
}

export default async function outboxBench(): Promise<void> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "capsule-bench-outbox-"));
  const subjects = [open(root, BASELINE, false), open(root, OUTBOX, true)];
  try {
    for (const subject of subjects) {
      await subject.store.init();
      await round(subject, WARMUP, false);
    }
    for (let r = 0; r < ROUNDS; r++) {
      // Alternate which goes first, so neither always follows the other's commits.
      const order = r % 2 === 0 ? subjects : [...subjects].reverse();
      for (const subject of order) await round(subject, PER_ROUND, true);
    }
    printTable(
      `One invocation through the store (create with a target, execute delivered, acquire), ${ROUNDS * PER_ROUND} each`,
      subjects.map((subject) => fromDurationsNs(subject.name, subject.samples.map(Number))),
      BASELINE,
    );
    const outbox = subjects[1];
    if (outbox !== undefined)
      console.log(`rows left in the outbox after the run: ${outbox.store.stats().outgoing}`);
  } finally {
    for (const subject of subjects) await subject.store.close();
    fs.rmSync(root, { recursive: true, force: true });
  }
}
