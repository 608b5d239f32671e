/**
 * A slot holds the pooled session behind one durable session, and knows which recorded
 * cell its namespace is at. Cells of one slot run one at a time, in call order.
 *
 * The session is leased lazily: only when a cell must actually run. If the live session
 * is not at the cell the caller continues from (a resume in a new process, or after
 * the session was released), a fresh one is leased with that cell's checkpoint restored.
 * `prepare()` has the pool start that worker while earlier cells are still being replayed
 * from their records, and gives it back if no cell needed it.
 */
import { loadCellPreparation } from "../src/session/cell-preparation.ts";
import type { Reservation, Session, SessionCheckpoint, SessionPool } from "../src/session/index.ts";

export class SessionSlot {
  readonly #pool: SessionPool;
  #session: Session | undefined;
  /** Id of the recorded cell whose namespace the live session holds ("" = empty). */
  #at: string | undefined;
  #tail: Promise<unknown> = Promise.resolve();
  #busy = 0;
  #releaseWhenIdle = false;
  /** A worker started for this slot's next lease (see `prepare`). */
  #reservation: Reservation | undefined;

  readonly #reserve: () => Reservation;

  /** `reserve`: where `prepare()` gets its worker (default: a new pool reservation). */
  constructor(pool: SessionPool, reserve: () => Reservation = () => pool.reserve()) {
    this.#pool = pool;
    this.#reserve = reserve;
  }

  /** The live session, when one is leased (for reads that are not cells: completion). */
  get live(): Session | undefined {
    const session = this.#session;
    return session === undefined || session.state === "TERMINATED" ? undefined : session;
  }

  /** Pid of the live session's worker, when one is leased. */
  get pid(): number | undefined {
    return this.#session?.pid;
  }

  /**
   * A cell will probably run here soon (a durable session was opened): have the pool
   * start a worker now, so that a resumed execution finds it ready when replay reaches
   * its first unrecorded cell. `release()` gives it back unused.
   */
  prepare(): void {
    if (this.live === undefined && this.#reservation === undefined) {
      this.#reservation = this.#reserve();
    }
  }

  /**
   * Runs `work` on a session whose namespace is the one after cell `at` (restored from
   * the checkpoint `loadCheckpoint` gives, only when the live session is elsewhere),
   * after every earlier call of this slot finished.
   * `work` returns the id of the cell it recorded, which becomes the slot's position.
   * `code`: the cell `work` runs, if it runs one (its preparation is warmed while a new
   * session starts).
   */
  run<T>(
    at: string,
    loadCheckpoint: () => Promise<SessionCheckpoint | undefined>,
    work: (session: Session) => Promise<{ value: T; at: string | undefined }>,
    code?: string,
  ): Promise<T> {
    this.#busy++;
    const turn = this.#tail.then(async () => {
      const session = await this.#sessionAt(at, loadCheckpoint, code);
      try {
        const { value, at: reached } = await work(session);
        this.#at = reached;
        return value;
      } catch (error) {
        // The namespace may be anywhere now: the next cell restores from its record.
        this.#at = undefined;
        throw error;
      }
    });
    const settled = turn.finally(() => {
      this.#busy--;
      if (this.#busy === 0 && this.#releaseWhenIdle) this.release();
    });
    this.#tail = settled.catch(() => undefined);
    return turn;
  }

  /** Gives the session (and a worker started for it) back to the pool now (nothing may be running). */
  release(): void {
    this.#reservation?.cancel();
    this.#reservation = undefined;
    this.#drop();
  }

  #drop(): void {
    this.#releaseWhenIdle = false;
    const session = this.#session;
    this.#session = undefined;
    this.#at = undefined;
    if (session !== undefined && session.state !== "TERMINATED") session.release();
  }

  /** Gives the session back once the cells in flight are done. */
  releaseWhenIdle(): void {
    if (this.#busy === 0) this.release();
    else this.#releaseWhenIdle = true;
  }

  async #sessionAt(
    at: string,
    loadCheckpoint: () => Promise<SessionCheckpoint | undefined>,
    code: string | undefined,
  ): Promise<Session> {
    const live = this.#session;
    if (live !== undefined && live.state !== "TERMINATED" && this.#at === at) return live;
    this.#drop();
    // A cell must run and will wait for its worker (starting, then restoring): load and
    // warm the cell parser meanwhile rather than after (a replay never needed it).
    if (code !== undefined) loadCellPreparation(code).catch(() => undefined);
    const checkpoint = await loadCheckpoint();
    const reservation = this.#reservation;
    this.#reservation = undefined;
    const session = await (reservation ?? this.#pool).acquire(
      checkpoint === undefined ? {} : { restore: checkpoint },
    );
    this.#session = session;
    this.#at = at;
    return session;
  }
}
