/**
 * Worker faults: each fault is injected many times into sessions of one process, while a
 * probe session keeps answering `1 + 1`. Every injection must give its own coded error
 * on the cell that caused it (never on the next one), leave the other sessions
 * answering, and bring the namespace back (a value set before the fault is there after).
 */
import { encodeFrame } from "../../src/protocol/frame.ts";
import { Session } from "../../src/session/index.ts";
import { mulberry32, randomInt } from "../protocol/prng.ts";
import type { Figures } from "./figures.ts";

interface Fault {
  name: string;
  /** The cell that injects the fault. */
  code: string;
  mode?: "blocking_sync";
  timeoutMs?: number;
  /** Error codes acceptable for the injecting cell; undefined: it must succeed. */
  codes?: readonly string[];
  /** Something done from outside while the cell runs (gets the worker pid). */
  outside?: (pid: number) => void;
  cancelAfterMs?: number;
  /** Checked on a successful result. */
  check?: (outcome: { value: unknown; truncated: boolean }) => string | undefined;
  /**
   * The cell leaves a callback behind that writes this line and then holds the main
   * thread: the next cell is run once the line arrived, must get its own result, and must
   * say in its output that the callback was stopped.
   */
  stray?: string;
}

/** The stable code of the notice a stopped stray callback leaves in the next cell's output. */
const STRAY_NOTICE = "STRAY_CALLBACK_STOPPED";
/** How long the harness waits for a stray callback to start before calling it a violation. */
const STRAY_START_MS = 10_000;

const bytes = (data: Uint8Array) => `Buffer.from([${[...data].join(",")}])`;
const writeFd3 = (data: string) => `require("node:fs").writeSync(3, ${data}); "written"`;
// The host ends a worker that breaks the protocol and fails its cell with this one code;
// the decoder's finding (PROTOCOL_MALFORMED_FRAME, ...) is its cause.
const PROTOCOL = ["PROTOCOL_VIOLATION"];

const FAULTS: Fault[] = [
  {
    name: "heap overflow (event loop)",
    code: "const hog = []; while (true) hog.push(new Array(1e6).fill(1.5));",
    codes: ["LIMIT_MEMORY"],
  },
  {
    name: "heap overflow (blocking)",
    code: "const hog = []; while (true) hog.push(new Array(1e6).fill(1.5));",
    mode: "blocking_sync",
    codes: ["LIMIT_MEMORY"],
  },
  {
    name: "resident memory growth",
    code: "const bufs = []; while (true) bufs.push(Buffer.alloc(32 * 1024 * 1024, 1));",
    codes: ["LIMIT_MEMORY"],
  },
  { name: "spinning loop", code: "while (true) {}", timeoutMs: 300, codes: ["LIMIT_TIMEOUT"] },
  {
    name: "never-settling await",
    code: "await new Promise(() => {})",
    timeoutMs: 300,
    codes: ["LIMIT_TIMEOUT"],
  },
  { name: "process.exit", code: "process.exit(3)", codes: ["WORKER_CRASHED"] },
  { name: "process.abort", code: "process.abort()", codes: ["WORKER_CRASHED"] },
  {
    name: "descriptor exhaustion",
    // The working directory is the one place a cell may always write.
    code: "const fds = []; while (true) fds.push(require('node:fs').openSync('held-' + fds.length, 'w'));",
    codes: ["LIMIT_RESOURCE"],
  },
  {
    name: "output flood",
    code: "for (let i = 0; i < 200000; i++) console.log('flood line', i); 'flooded'",
    check: ({ value, truncated }) =>
      value === "flooded" && truncated
        ? undefined
        : `value ${String(value)}, truncated ${truncated}`,
  },
  {
    name: "exception from a timer",
    code: "setTimeout(() => { throw new Error('timer boom') }, 0); 'armed'",
    check: ({ value }) => (value === "armed" ? undefined : `value ${String(value)}`),
  },
  {
    name: "timer left spinning",
    code: "setTimeout(() => { console.log('stray spins'); while (true) {} }, 0); 'armed'",
    stray: "stray spins",
    check: ({ value }) => (value === "armed" ? undefined : `value ${String(value)}`),
  },
  {
    name: "unhandled rejection",
    code: "void Promise.reject(new Error('nobody listens')); 'ignored'",
    check: ({ value }) => (value === "ignored" ? undefined : `value ${String(value)}`),
  },
  {
    name: "SIGKILL from outside",
    code: "await new Promise(() => {})",
    outside: (pid) => process.kill(pid, "SIGKILL"),
    codes: ["WORKER_CRASHED"],
  },
  {
    name: "cancel of a spinning cell",
    code: "while (true) {}",
    cancelAfterMs: 50,
    codes: ["EXECUTION_CANCELLED"],
  },
  {
    name: "cancel of a blocking cell",
    code: "while (true) {}",
    mode: "blocking_sync",
    cancelAfterMs: 50,
    codes: ["EXECUTION_CANCELLED"],
  },
  {
    name: "garbage frame",
    code: writeFd3(bytes(new Uint8Array([0, 0, 0, 6, 0xc1, 0xc1, 0xc1, 0xc1, 0xc1, 0xc1]))),
    codes: PROTOCOL,
  },
  {
    name: "oversized frame length",
    code: writeFd3(bytes(new Uint8Array([0x7f, 0xff, 0xff, 0xff, 1, 2, 3]))),
    codes: PROTOCOL,
  },
  {
    name: "truncated frame",
    code: writeFd3(bytes(new Uint8Array([0, 0, 0, 100, 0x81, 0xa4]))),
    codes: PROTOCOL,
  },
  {
    name: "never-ending frame",
    // Announces 1 MiB: every later frame of the worker vanishes into it.
    code: writeFd3(bytes(new Uint8Array([0, 0x10, 0, 0, 0x81]))),
    codes: PROTOCOL,
  },
  {
    name: "out-of-sequence frame",
    code: writeFd3(
      bytes(
        encodeFrame({
          type: "heartbeat",
          seq: 1e9,
          memory_usage: 1,
          cpu_percent: 0,
          namespace_size: 0,
        }),
      ),
    ),
    codes: PROTOCOL,
  },
  {
    name: "forged ready frame",
    code: writeFd3(bytes(encodeFrame({ type: "ready", seq: 2, pid: 1, protocol_version: 1 }))),
    codes: PROTOCOL,
  },
  {
    name: "unsequenced frame",
    code: writeFd3(
      bytes(encodeFrame({ type: "output", execution_id: "x", stream: "stdout", data: "forged" })),
    ),
    codes: PROTOCOL,
  },
];

export async function workerFaults(
  options: { seed: number; rounds: number },
  figures: Figures,
): Promise<void> {
  const random = mulberry32(options.seed ^ 0x5eed);
  const probe = new Session();
  await probe.start();
  let probing = true;
  let probeMax = 0;
  let probeFailures = 0;
  const probeLoop = (async () => {
    while (probing) {
      const started = performance.now();
      try {
        await probe.execute("1 + 1");
      } catch {
        probeFailures++;
      }
      probeMax = Math.max(probeMax, performance.now() - started);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  try {
    for (let round = 0; round < options.rounds; round++) {
      for (const fault of FAULTS) {
        probeMax = 0;
        const violation = await inject(fault, randomInt(random, 1_000_000));
        figures.record(`worker: ${fault.name}`, {
          recoveryMs: probeMax,
          ...(violation === undefined ? {} : { violation }),
        });
        if (probeMax > 5_000)
          figures.violation(`${fault.name}: another session waited ${Math.round(probeMax)} ms`);
      }
    }
  } finally {
    probing = false;
    await probeLoop;
    await probe.close();
  }
  if (probeFailures > 0)
    figures.violation(`worker faults: the probe session failed ${probeFailures} time(s)`);
}

async function inject(fault: Fault, keep: number): Promise<string | undefined> {
  // Room above an idle worker's resident size, small enough that a heap fault lands fast.
  const session = new Session({
    limits: { memoryMb: 320, maxFds: 64, outputBytes: 1024 * 1024 },
    heartbeatMs: 200,
    graceMs: 1_000,
  });
  try {
    await session.start();
    await session.execute(`let keep = ${keep}`);
    const strayStarted =
      fault.stray === undefined ? undefined : lineFrom(session, fault.stray, STRAY_START_MS);
    const abort = new AbortController();
    let truncated = false;
    const running = session.execute(fault.code, {
      ...(fault.mode === undefined ? {} : { mode: fault.mode }),
      ...(fault.timeoutMs === undefined ? {} : { timeoutMs: fault.timeoutMs }),
      signal: abort.signal,
      onOutput: (chunk) => {
        if (chunk.truncated === true) truncated = true;
      },
    });
    if (fault.outside !== undefined) {
      const pid = session.pid;
      if (pid !== undefined) setTimeout(() => fault.outside?.(pid), 100);
    }
    if (fault.cancelAfterMs !== undefined) setTimeout(() => abort.abort(), fault.cancelAfterMs);
    const outcome = await running.then(
      (result) => ({ ok: true as const, value: result.value }),
      (error: unknown) => ({
        ok: false as const,
        code: (error as { code?: string }).code,
        message: String(error),
      }),
    );
    if (fault.codes === undefined) {
      if (!outcome.ok) return `failed with ${outcome.code}: ${outcome.message.slice(0, 200)}`;
      const checked = fault.check?.({ value: outcome.value, truncated });
      if (checked !== undefined) return checked;
    } else if (outcome.ok) {
      return `succeeded (${String(outcome.value)}) instead of ${fault.codes.join("|")}`;
    } else if (!fault.codes.includes(outcome.code ?? "")) {
      return `gave ${outcome.code} (${outcome.message.slice(0, 200)}) instead of ${fault.codes.join("|")}`;
    }
    let nextOutput = "";
    if (strayStarted !== undefined && !(await strayStarted))
      return `the stray callback did not start within ${STRAY_START_MS} ms`;
    // The next cell is not blamed for the fault, and the namespace came back.
    const after = await session
      .execute("keep", { onOutput: (chunk) => (nextOutput += chunk.data) })
      .then(
        (result) => result.value,
        (error: unknown) =>
          `error ${(error as { code?: string }).code}: ${String(error).slice(0, 200)}`,
      );
    if (after !== keep) return `after the fault, keep is ${String(after)} instead of ${keep}`;
    if (fault.stray !== undefined && !nextOutput.includes(STRAY_NOTICE))
      return `the next cell's output does not say the stray callback was stopped: ${JSON.stringify(nextOutput.slice(0, 200))}`;
    return undefined;
  } catch (error) {
    return `harness error: ${String(error).slice(0, 300)}`;
  } finally {
    await session.close().catch(() => undefined);
  }
}

/** Resolves true once the session writes `line` between cells, false after `withinMs`. */
function lineFrom(session: Session, line: string, withinMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => finish(false), withinMs);
    const listener = (chunk: { data: string }) => {
      if (chunk.data.includes(line)) finish(true);
    };
    const finish = (seen: boolean) => {
      clearTimeout(timer);
      session.off("output", listener);
      resolve(seen);
    };
    session.on("output", listener);
  });
}
