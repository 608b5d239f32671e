/**
 * The durable layer's cost on a 10 ms cell: a durable `execute` against a plain
 * `session.execute` of it, on one warm worker (the baseline) and on a fresh
 * worker every `STEPS` cells (what each durable execution gets: it leases its own), with
 * and without the pool's warm-up of idle workers. The contenders of one table are open at
 * once and take their rounds of `STEPS` cells in turn, so that a load spike on a shared
 * machine inflates every row instead of skewing their ratio; each round starts once every
 * pool's replacement workers are started and warm, so no row pays for another's.
 * `machine` has a table of its own: its fsyncs slow the other store's writes to the same
 * disk. One more row runs the durable execute on the SDK's in-memory `LocalNetwork`,
 * which stores nothing: the cost of the SDK's steps and Capsule's durable layer alone,
 * the floor under any store.
 */
import { type PoolOptions, type Session, SessionPool } from "../../src/session/index.ts";
import {
  type Backend,
  backendName,
  closeCapsule,
  type OpenCapsule,
  openCapsule,
  stats,
} from "./durable-backends.ts";
import { type Measurement, printTable } from "./harness.ts";

const ROUNDS = 30;
const STEPS = 10;
const SLOW_CELL = "await new Promise((resolve) => setTimeout(resolve, 10)); 1";
/** Cells the warm worker runs before it is measured: from about the 40th on, a worker is warm. */
const WARM_WORKER_CELLS = 60;
const NO_WARM_UP: PoolOptions = { minIdle: 1, warmUpCells: 0 };
const WARM_NAME = "session.execute (plain), one warm worker";

/** One row: a round runs `STEPS` cells and adds their latencies (ms) to `samples`. */
interface Contender {
  name: string;
  samples: number[];
  round(): Promise<void>;
  /** The pool behind it, to wait until its replacement workers are started and warm. */
  pool: SessionPool;
  close(): Promise<void>;
}

async function timed(samples: number[], cell: () => Promise<unknown>): Promise<void> {
  const started = performance.now();
  await cell();
  samples.push(performance.now() - started);
}

/** Plain cells on one session whose worker ran `WARM_WORKER_CELLS` cells first. */
async function warmWorker(): Promise<Contender> {
  const pool = new SessionPool({ minIdle: 1 });
  const session = await pool.acquire();
  for (let i = 0; i < WARM_WORKER_CELLS; i++) await session.execute(SLOW_CELL);
  const samples: number[] = [];
  return {
    name: WARM_NAME,
    samples,
    pool,
    async round() {
      for (let i = 0; i < STEPS; i++) await timed(samples, () => session.execute(SLOW_CELL));
    },
    async close() {
      session.release();
      await pool.close();
    },
  };
}

/** Plain cells on a session leased for `STEPS` cells and released (which retires its worker). */
function freshWorkers(name: string, options: PoolOptions): Contender {
  const pool = new SessionPool(options);
  const samples: number[] = [];
  return {
    name,
    samples,
    pool,
    async round() {
      const session: Session = await pool.acquire();
      try {
        for (let i = 0; i < STEPS; i++) await timed(samples, () => session.execute(SLOW_CELL));
      } finally {
        session.release();
      }
    },
    close: () => pool.close(),
  };
}

/** Durable executions of `STEPS` execute steps, each timed inside the function. */
async function durable(name: string, kind: Backend, pool?: PoolOptions): Promise<Contender> {
  const opened: OpenCapsule = await openCapsule(kind, pool);
  const samples: number[] = [];
  const fn = opened.capsule.register("steps", async (ctx) => {
    const session = ctx.session("main");
    for (let i = 0; i < STEPS; i++) await timed(samples, () => session.execute(SLOW_CELL));
    return STEPS;
  });
  let runs = 0;
  const round = async () => {
    await (await fn.run(`run-${runs++}`)).result();
  };
  // The first executions of a process load the SDK's and the store's code paths.
  for (let i = 0; i < 3; i++) await round();
  samples.length = 0;
  return { name, samples, round, pool: opened.capsule.pool, close: () => closeCapsule(opened) };
}

async function interleaved(open: Array<() => Promise<Contender>>): Promise<Measurement[]> {
  const contenders: Contender[] = [];
  try {
    for (const start of open) contenders.push(await start());
    for (let i = 0; i < ROUNDS; i++) {
      for (const contender of contenders) {
        // Every round starts on a quiet machine: the workers that replace the ones just
        // retired (and their warm-ups) are not left to run during another row's round.
        await Promise.all(contenders.map((each) => each.pool.whenWarm()));
        await contender.round();
      }
    }
    return contenders.map((contender) => stats(contender.name, contender.samples));
  } finally {
    for (const contender of contenders) await contender.close();
  }
}

export async function slowCellTable(): Promise<void> {
  const fresh = `session.execute, a fresh worker every ${STEPS} cells`;
  const durableProcess = `durable execute, ${backendName("process")}`;
  const rows = await interleaved([
    warmWorker,
    async () => freshWorkers(fresh, { minIdle: 1 }),
    async () => freshWorkers(`${fresh}, no warm-up`, NO_WARM_UP),
    () => durable(durableProcess, "process"),
    () => durable(`${durableProcess}, no warm-up`, "process", NO_WARM_UP),
    () => durable(`durable execute, ${backendName("memory")}: no store`, "memory"),
  ]);
  const machineRows = await interleaved([
    warmWorker,
    () => durable(`durable execute, ${backendName("machine")}`, "machine"),
  ]);
  const [warm, withWarmUp, withoutWarmUp, durableRow, durableNoWarmUp, inMemory] = rows;
  printTable(
    `a 10 ms cell: durable execute vs plain session.execute, ${ROUNDS} rounds of ${STEPS} cells, interleaved`,
    rows,
    WARM_NAME,
  );
  printTable(
    "the same at durability=machine, interleaved with its own baseline",
    machineRows,
    WARM_NAME,
  );
  overhead(durableRow, warm, withWarmUp);
  overhead(durableNoWarmUp, warm, withoutWarmUp);
  overhead(inMemory, warm, withWarmUp);
  overhead(machineRows[1], machineRows[0], undefined);
}

/** The percent lines: a durable row over the warm worker, and over its fresh-worker peer. */
function overhead(row?: Measurement, warm?: Measurement, fresh?: Measurement): void {
  if (row === undefined || warm === undefined) return;
  const percent = (base: Measurement) =>
    (((row.medianUs - base.medianUs) / base.medianUs) * 100).toFixed(1);
  const overFresh = fresh === undefined ? "" : `, ${percent(fresh)} % over plain on fresh workers`;
  console.log(
    `${row.name}: overhead on a 10 ms cell (median) ${percent(warm)} % over plain on a warm worker${overFresh}`,
  );
}
