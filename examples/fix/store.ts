/**
 * A FIX session's durable state in Capsule's durable store: the next inbound and
 * outbound sequence numbers and every message sent (for resend), per reset period.
 *
 * Everything is a durable promise (the public `capsule.promises` API), so it lives in
 * the embedded store by default and in a Resonate server in remote mode:
 *
 * - `fix/<session>/epoch/<k>`            reset period k (data: when it began, ms)
 * - `fix/<session>/<k>/out/<seq>`        the message sent with MsgSeqNum seq (base64)
 * - `fix/<session>/<k>/in/<n>`           the n-th change of the next inbound MsgSeqNum
 *
 * Each family is numbered 1, 2, 3, … with no holes (a record is written only after the
 * one before it), so the latest is found with O(log n) reads: exponential probing, then
 * bisection. A record is written before the message it describes is sent, so a crash
 * at any moment restarts with the right numbers: at worst a message was stored and
 * never sent, and the counterparty's ResendRequest gets it from the store.
 */
import type { Capsule } from "../../durable/index.ts";

/** Far in the future: these promises are records, never timers. */
const NEVER = Number.MAX_SAFE_INTEGER;

export interface SequenceState {
  /** MsgSeqNum expected on the next inbound message. */
  nextIn: number;
  /** MsgSeqNum of the next outbound message. */
  nextOut: number;
  /** Reset period number (1 for the first one). */
  epoch: number;
  /** When this reset period began (ms since the epoch). */
  epochStartedAt: number;
}

type Promises = Capsule["promises"];

function isNotFound(error: unknown): boolean {
  const serverError: unknown = Reflect.get(Object(error), "serverError");
  return Reflect.get(Object(serverError), "code") === 404;
}

export class DurableSessionStore {
  readonly #promises: Promises;
  readonly #prefix: string;
  /** The session's name, e.g. `FIX.4.2-BUY-SELL`. */
  readonly session: string;
  #state: SequenceState | undefined;
  /** How many inbound records this period has (the next one is `inRecords + 1`). */
  #inRecords = 0;

  /** `session` names the session, e.g. `FIX.4.2-BUY-SELL`. */
  constructor(promises: Promises, session: string) {
    this.#promises = promises;
    this.session = session;
    this.#prefix = `fix/${session}`;
  }

  /** The current state; `load()` must have been called. */
  get state(): Readonly<SequenceState> {
    return this.#loaded();
  }

  #loaded(): SequenceState {
    if (this.#state === undefined) throw new Error("DurableSessionStore: load() first");
    return this.#state;
  }

  /** Reads the latest state from the store (a new session starts period 1 at `now`). */
  async load(now: number): Promise<SequenceState> {
    let epoch = await this.#latest((k) => `${this.#prefix}/epoch/${k}`);
    if (epoch === 0) {
      await this.#write(`${this.#prefix}/epoch/1`, String(now));
      epoch = 1;
    }
    const started = Number(await this.#read(`${this.#prefix}/epoch/${epoch}`));
    const outRecords = await this.#latest((k) => this.#outId(epoch, k));
    this.#inRecords = await this.#latest((k) => this.#inId(epoch, k));
    const nextIn =
      this.#inRecords === 0 ? 1 : Number(await this.#read(this.#inId(epoch, this.#inRecords)));
    this.#state = { nextIn, nextOut: outRecords + 1, epoch, epochStartedAt: started };
    return this.#state;
  }

  /** Stores the message about to be sent as `seq` (must be `nextOut`), then advances. */
  async saveOutbound(seq: number, raw: Buffer): Promise<void> {
    const state = this.#loaded();
    if (seq !== state.nextOut) {
      throw new Error(`outbound MsgSeqNum ${seq} stored out of order (next is ${state.nextOut})`);
    }
    await this.#write(this.#outId(state.epoch, seq), raw.toString("base64"));
    state.nextOut = seq + 1;
  }

  /** The stored message sent as `seq` in this period, if any. */
  async outbound(seq: number): Promise<Buffer | undefined> {
    const data = await this.#read(this.#outId(this.state.epoch, seq));
    return data === undefined ? undefined : Buffer.from(data, "base64");
  }

  /** Records the next expected inbound MsgSeqNum. */
  async setNextIn(nextIn: number): Promise<void> {
    const state = this.#loaded();
    if (nextIn === state.nextIn) return;
    await this.#write(this.#inId(state.epoch, this.#inRecords + 1), String(nextIn));
    this.#inRecords++;
    state.nextIn = nextIn;
  }

  /** Starts a new reset period: both sequence numbers back to 1, an empty outbound store. */
  async reset(now: number): Promise<void> {
    const epoch = this.state.epoch + 1;
    await this.#write(`${this.#prefix}/epoch/${epoch}`, String(now));
    this.#inRecords = 0;
    this.#state = { nextIn: 1, nextOut: 1, epoch, epochStartedAt: now };
  }

  #outId(epoch: number, seq: number): string {
    return `${this.#prefix}/${epoch}/out/${seq}`;
  }

  #inId(epoch: number, n: number): string {
    return `${this.#prefix}/${epoch}/in/${n}`;
  }

  async #write(id: string, data: string): Promise<void> {
    await this.#promises.create(id, NEVER, { data });
    // Settled, so the store keeps it as history rather than as live, pending work.
    await this.#promises.resolve(id, {});
  }

  async #read(id: string): Promise<string | undefined> {
    try {
      return (await this.#promises.get(id)).param.data ?? "";
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  /** The largest k ≥ 0 such that records 1..k exist (they are written without holes). */
  async #latest(idOf: (k: number) => string): Promise<number> {
    const exists = async (k: number) => (await this.#read(idOf(k))) !== undefined;
    if (!(await exists(1))) return 0;
    let low = 1;
    let high = 2;
    while (await exists(high)) {
      low = high;
      high *= 2;
    }
    // exists(low) and not exists(high): bisect.
    while (high - low > 1) {
      const mid = Math.floor((low + high) / 2);
      if (await exists(mid)) low = mid;
      else high = mid;
    }
    return low;
  }
}
