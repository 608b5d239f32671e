/**
 * The FIX 4.2 session layer, the same for initiator and acceptor: logon, heartbeats
 * only when idle, test requests, gap detection with ResendRequest and a queue of early
 * messages, answering ResendRequest from the durable store (PossDup resend, GapFill over
 * administrative messages), MsgSeqNum too low → Logout, Reject for malformed session
 * messages, and the Logout handshake.
 *
 * A FixSession outlives its connections: `connect(transport)` binds it to one, and the
 * sequence numbers carry over (they live in the DurableSessionStore). Inbound messages
 * are handled one at a time, in arrival order; outbound messages are stored, then
 * written, one at a time, in MsgSeqNum order.
 */
import { type Clock, systemClock } from "./clock.ts";
import {
  encodeMessage,
  type FixField,
  FixMessage,
  fixTimestamp,
  isAdminType,
  MsgType,
  Tag,
} from "./codec.ts";
import { FixError } from "./errors.ts";
import { Heartbeats } from "./heartbeats.ts";
import { FixParser } from "./parser.ts";
import { answerResend } from "./resend.ts";
import type { SessionOptions, SessionState, Transport } from "./session-types.ts";
import type { DurableSessionStore } from "./store.ts";

export type { Faults, SessionEvent, SessionOptions, Transport } from "./session-types.ts";

/** SessionRejectReason(373) values used here. */
const REQUIRED_TAG_MISSING = "1";
const VALUE_INCORRECT = "5";

export class FixSession {
  readonly options: SessionOptions;
  readonly #clock: Clock;
  readonly #store: DurableSessionStore;
  #transport: Transport | undefined;
  #state: SessionState = "disconnected";
  readonly #heartbeats: Heartbeats;
  /** Messages that arrived ahead of a gap, by MsgSeqNum. */
  readonly #early = new Map<number, FixMessage>();
  /** ResendRequests answered when they arrived early (not answered twice). */
  readonly #answered = new Set<number>();
  #resendOutstanding = false;
  #sendChain: Promise<void> = Promise.resolve();
  #receiveChain: Promise<void> = Promise.resolve();
  #loggedOn: { resolve(): void; reject(error: Error): void } | undefined;
  readonly #onEnded: (() => void)[] = [];
  /** Reassembles messages from the connection's chunks. */
  readonly parser = new FixParser();

  constructor(options: SessionOptions) {
    this.options = options;
    this.#clock = options.clock ?? systemClock;
    this.#store = options.store;
    this.#heartbeats = new Heartbeats(this.#clock, options.heartBtInt, {
      state: () => this.#state,
      // A failed send ends the connection through the send path's own error handling.
      sendHeartbeat: () => void this.#sendNew(MsgType.Heartbeat, []).catch(() => {}),
      sendTestRequest: () =>
        void this.#sendNew(MsgType.TestRequest, [
          [Tag.TestReqID, `TEST-${this.#clock.now()}`],
        ]).catch(() => {}),
      close: (reason) => this.#close(reason),
    });
  }

  get state(): SessionState {
    return this.#state;
  }

  get heartBtInt(): number {
    return this.#heartbeats.seconds;
  }

  /** The session's sequence state: next numbers, reset period and when it began. */
  get sequence(): { nextIn: number; nextOut: number; epoch: number; epochStartedAt: number } {
    const { nextIn, nextOut, epoch, epochStartedAt } = this.#store.state;
    return { nextIn, nextOut, epoch, epochStartedAt };
  }

  /** The session's name in the store and in durable execution ids. */
  get key(): string {
    return this.#store.session;
  }

  /**
   * Binds the session to a new connection. An initiator sends Logon and the promise
   * resolves when the acceptor answers; an acceptor's resolves at the peer's Logon. It
   * rejects (FIX_SESSION_ENDED) if the connection ends first.
   */
  connect(transport: Transport): Promise<void> {
    this.#transport = transport;
    this.#state = "awaiting-logon";
    this.#early.clear();
    this.#answered.clear();
    this.#resendOutstanding = false;
    const loggedOn = new Promise<void>((resolve, reject) => {
      this.#loggedOn = { resolve, reject };
    });
    if (this.options.role === "initiator") {
      // A logon that opens a reset period says so, so the counterparty resets too.
      const reset = this.#store.state.nextOut === 1;
      void this.#sendNew(MsgType.Logon, [
        [Tag.EncryptMethod, "0"],
        [Tag.HeartBtInt, String(this.#heartbeats.seconds)],
        ...(reset ? ([[Tag.ResetSeqNumFlag, "Y"]] as FixField[]) : []),
      ]).catch((error: unknown) => this.#end(`logon not sent: ${String(error)}`));
    }
    this.#heartbeats.received();
    return loggedOn;
  }

  /** Feeds a chunk read from the connection; complete messages are handled in order. */
  receiveBytes(chunk: Uint8Array): void {
    for (const event of this.parser.push(chunk)) {
      if (event.kind === "garbled") continue; // FIX: a garbled message is ignored.
      if (this.options.faults?.dropInbound?.(event.message) === true) continue;
      const message = event.message;
      this.#receiveChain = this.#receiveChain
        .then(() => this.#receive(message))
        .catch((error: unknown) => this.#end(`failed handling ${message}: ${String(error)}`));
    }
  }

  /** The connection closed (either side). */
  disconnected(reason = "connection closed"): void {
    this.#end(reason);
  }

  /**
   * Sends an application message; resolves with its MsgSeqNum once it is stored and
   * written. While disconnected it is stored only: the counterparty sees the gap at the
   * next logon and gets it by resend.
   * @throws FixError (FIX_INVALID_FIELD) for a field that cannot be encoded; nothing is stored.
   */
  sendApplication(msgType: string, fields: readonly FixField[]): Promise<number> {
    if (isAdminType(msgType)) {
      return Promise.reject(
        new FixError("FIX_INVALID_FIELD", `MsgType ${msgType} is administrative`),
      );
    }
    return this.#sendNew(msgType, fields);
  }

  /** The message stored as outbound `seq` in this reset period (what a resend would send). */
  storedOutbound(seq: number): Promise<Buffer | undefined> {
    return this.#store.outbound(seq);
  }

  /** Resolves when the current connection ends (at once if there is none). */
  whenEnded(): Promise<void> {
    if (this.#state === "disconnected") return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.#onEnded.push(resolve);
    });
  }

  /** Starts the Logout handshake; resolves when the connection has ended. */
  async logout(text = "logout"): Promise<void> {
    if (this.#state === "disconnected") return;
    const ended = this.whenEnded();
    this.#state = "logout-sent";
    await this.#sendNew(MsgType.Logout, [[Tag.Text, text]]);
    // A counterparty that never answers is cut off after one heartbeat interval.
    const cancel = this.#clock.after(Math.max(1, this.#heartbeats.seconds) * 1000, () =>
      this.#close("no Logout reply"),
    );
    await ended;
    cancel();
  }

  /** Starts a new reset period (sequence numbers 1) in the store; call while disconnected. */
  async reset(): Promise<void> {
    await this.#store.reset(this.#clock.now());
    this.options.onEvent?.({ type: "reset", epoch: this.#store.state.epoch });
  }

  // ------------------------------------------------------------------ inbound

  async #receive(message: FixMessage): Promise<void> {
    if (this.#state === "disconnected") return;
    this.options.onEvent?.({ type: "received", message });
    this.#heartbeats.received();
    if (
      message.get(Tag.SenderCompID) !== this.options.targetCompId ||
      message.get(Tag.TargetCompID) !== this.options.senderCompId
    ) {
      return this.#logoutAndClose(`CompID problem: ${message.get(49)}->${message.get(56)}`);
    }
    const seq = message.seqNum;
    if (seq === undefined) return this.#logoutAndClose("MsgSeqNum(34) missing or not a number");
    if (this.#state === "awaiting-logon") {
      if (message.msgType !== MsgType.Logon) return this.#close("first message is not Logon");
      return this.#onLogon(message, seq);
    }
    if (message.msgType === MsgType.SequenceReset && message.get(Tag.GapFillFlag) !== "Y") {
      return this.#onSequenceReset(message, seq, false);
    }
    const expected = this.#store.state.nextIn;
    if (seq > expected) {
      if (message.msgType === MsgType.ResendRequest && !this.#answered.has(seq)) {
        // Answer at once: the peer may itself be waiting for our resend to fill its gap.
        this.#answered.add(seq);
        await this.#answerResend(message);
      }
      this.#early.set(seq, message);
      if (!this.#resendOutstanding) await this.#requestResend(expected, seq);
      return;
    }
    if (seq < expected) {
      if (message.possDup) return; // a duplicate we already have
      return this.#logoutAndClose(`MsgSeqNum too low, expecting ${expected} but received ${seq}`);
    }
    await this.#inSequence(message, seq);
    for (;;) {
      const next = this.#store.state.nextIn;
      for (const early of this.#early.keys()) if (early < next) this.#early.delete(early);
      const queued = this.#early.get(next);
      if (queued === undefined) break;
      this.#early.delete(next);
      await this.#inSequence(queued, next);
    }
    if (this.#early.size === 0) this.#resendOutstanding = false;
  }

  async #onLogon(message: FixMessage, seq: number): Promise<void> {
    const heartBtInt = message.int(Tag.HeartBtInt);
    if (heartBtInt === undefined || message.get(Tag.EncryptMethod) !== "0") {
      return this.#logoutAndClose("Logon needs HeartBtInt(108) and EncryptMethod(98)=0");
    }
    const peerResets = message.get(Tag.ResetSeqNumFlag) === "Y";
    if (peerResets) {
      if (seq !== 1)
        return this.#logoutAndClose("a Logon with ResetSeqNumFlag=Y must be MsgSeqNum 1");
      const { nextIn, nextOut } = this.#store.state;
      if (this.options.role === "acceptor" && (nextIn !== 1 || nextOut !== 1)) await this.reset();
    }
    const expected = this.#store.state.nextIn;
    if (seq < expected) {
      return this.#logoutAndClose(`MsgSeqNum too low, expecting ${expected} but received ${seq}`);
    }
    if (this.options.role === "acceptor") {
      this.#heartbeats.seconds = heartBtInt;
      await this.#sendNew(MsgType.Logon, [
        [Tag.EncryptMethod, "0"],
        [Tag.HeartBtInt, String(heartBtInt)],
        ...(peerResets ? ([[Tag.ResetSeqNumFlag, "Y"]] as FixField[]) : []),
      ]);
    }
    if (seq === expected) await this.#store.setNextIn(seq + 1);
    this.#state = "active";
    const { nextIn, nextOut } = this.#store.state;
    this.options.onEvent?.({
      type: "logged-on",
      heartBtInt: this.#heartbeats.seconds,
      nextIn,
      nextOut,
    });
    this.#loggedOn?.resolve();
    this.#heartbeats.received();
    // The range asked for includes the Logon itself; the peer gap-fills it.
    if (seq > expected) await this.#requestResend(expected, seq);
  }

  async #inSequence(message: FixMessage, seq: number): Promise<void> {
    switch (message.msgType) {
      case MsgType.TestRequest: {
        const id = message.get(Tag.TestReqID);
        if (id === undefined)
          await this.#reject(seq, Tag.TestReqID, REQUIRED_TAG_MISSING, "TestReqID missing");
        else await this.#sendNew(MsgType.Heartbeat, [[Tag.TestReqID, id]]);
        break;
      }
      case MsgType.ResendRequest:
        if (!this.#answered.delete(seq)) await this.#answerResend(message);
        break;
      case MsgType.SequenceReset:
        return this.#onSequenceReset(message, seq, true);
      case MsgType.Logout:
        await this.#store.setNextIn(seq + 1);
        if (this.#state !== "logout-sent") {
          await this.#sendNew(MsgType.Logout, [[Tag.Text, "logout acknowledged"]]);
        }
        return this.#close(`Logout: ${message.get(Tag.Text) ?? ""}`);
      case MsgType.Heartbeat:
      case MsgType.Reject:
      case MsgType.Logon:
        break;
      default:
        await this.options.onApplication?.(message);
    }
    await this.#store.setNextIn(seq + 1);
  }

  async #onSequenceReset(message: FixMessage, seq: number, gapFill: boolean): Promise<void> {
    const newSeqNo = message.int(Tag.NewSeqNo);
    if (newSeqNo === undefined) {
      await this.#reject(seq, Tag.NewSeqNo, REQUIRED_TAG_MISSING, "NewSeqNo missing");
      if (gapFill) await this.#store.setNextIn(seq + 1);
      return;
    }
    const floor = gapFill ? seq + 1 : this.#store.state.nextIn;
    if (newSeqNo < floor) {
      await this.#reject(seq, Tag.NewSeqNo, VALUE_INCORRECT, `NewSeqNo ${newSeqNo} below ${floor}`);
      if (gapFill) await this.#store.setNextIn(seq + 1);
      return;
    }
    await this.#store.setNextIn(newSeqNo);
  }

  async #requestResend(expected: number, received: number): Promise<void> {
    this.#resendOutstanding = true;
    this.options.onEvent?.({ type: "gap", expected, received });
    await this.#sendNew(MsgType.ResendRequest, [
      [Tag.BeginSeqNo, String(expected)],
      [Tag.EndSeqNo, "0"],
    ]);
  }

  /** Resends stored application messages (PossDup) and gap-fills over everything else. */
  async #answerResend(request: FixMessage): Promise<void> {
    const seq = request.seqNum ?? 0;
    const begin = request.int(Tag.BeginSeqNo);
    const end = request.int(Tag.EndSeqNo);
    if (begin === undefined || end === undefined || begin < 1) {
      const tag = begin === undefined || begin < 1 ? Tag.BeginSeqNo : Tag.EndSeqNo;
      return this.#reject(
        seq,
        tag,
        REQUIRED_TAG_MISSING,
        "ResendRequest needs BeginSeqNo and EndSeqNo",
      );
    }
    await this.#enqueueSend(async () => {
      const last = this.#store.state.nextOut - 1;
      const answer = await answerResend((n) => this.#store.outbound(n), {
        begin,
        stop: end === 0 || end > last ? last : end,
        header: (msgType, seq) => this.#header(msgType, seq),
        now: this.#clock.now(),
      });
      for (const raw of answer.writes) this.#write(raw, true);
      const { stop, resent, gapFills } = answer;
      this.options.onEvent?.({ type: "resend-answered", begin, end: stop, resent, gapFills });
    });
  }

  // ------------------------------------------------------------------ outbound

  #header(msgType: string, seq: number): FixField[] {
    return [
      [Tag.MsgType, msgType],
      [Tag.SenderCompID, this.options.senderCompId],
      [Tag.TargetCompID, this.options.targetCompId],
      [Tag.MsgSeqNum, String(seq)],
      [Tag.SendingTime, fixTimestamp(this.#clock.now())],
    ];
  }

  #sendNew(msgType: string, fields: readonly FixField[]): Promise<number> {
    return this.#enqueueSend(async () => {
      const seq = this.#store.state.nextOut;
      const raw = encodeMessage([...this.#header(msgType, seq), ...fields]);
      await this.#store.saveOutbound(seq, raw); // stored before it is sent
      if (this.#state !== "disconnected") this.#write(raw, false);
      return seq;
    });
  }

  #enqueueSend<T>(work: () => Promise<T>): Promise<T> {
    const result = this.#sendChain.then(work);
    this.#sendChain = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }

  #write(raw: Buffer, resent: boolean): void {
    const event = new FixParser().push(raw)[0];
    const message = event?.kind === "message" ? event.message : new FixMessage([]);
    if (this.#transport === undefined || this.#state === "disconnected") return;
    if (this.options.faults?.dropOutbound?.(message) === true) {
      this.options.onEvent?.({ type: "dropped", message });
    } else {
      this.#transport.write(raw);
      this.options.onEvent?.({ type: "sent", message, resent });
    }
    this.#heartbeats.sent();
  }

  async #reject(refSeqNum: number, refTag: number, reason: string, text: string): Promise<void> {
    await this.#sendNew(MsgType.Reject, [
      [Tag.RefSeqNum, String(refSeqNum)],
      [Tag.RefTagID, String(refTag)],
      [Tag.SessionRejectReason, reason],
      [Tag.Text, text],
    ]);
  }

  async #logoutAndClose(reason: string): Promise<void> {
    await this.#sendNew(MsgType.Logout, [[Tag.Text, reason]]);
    this.#close(reason);
  }

  // ------------------------------------------------------------------ end

  #close(reason: string): void {
    const transport = this.#transport;
    this.#end(reason);
    transport?.close();
  }

  #end(reason: string): void {
    if (this.#state === "disconnected") return;
    this.#state = "disconnected";
    this.#transport = undefined;
    this.#heartbeats.stop();
    this.#loggedOn?.reject(
      new FixError("FIX_SESSION_ENDED", `session ended before logon: ${reason}`),
    );
    this.#loggedOn = undefined;
    this.options.onEvent?.({ type: "ended", reason });
    for (const resolve of this.#onEnded.splice(0)) resolve();
  }
}
