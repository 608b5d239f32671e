/**
 * A session's two timers. Sending side: a Heartbeat only when nothing was sent for a
 * whole interval. Receiving side: silence for interval + 20% gets a TestRequest, and
 * silence after that ends the connection (so does a missing Logon).
 */
import type { Clock } from "./clock.ts";
import type { SessionState } from "./session-types.ts";

export interface HeartbeatHooks {
  state(): SessionState;
  sendHeartbeat(): void;
  sendTestRequest(): void;
  close(reason: string): void;
}

export class Heartbeats {
  /** HeartBtInt(108) in seconds; 0 turns both timers off. */
  seconds: number;
  readonly #clock: Clock;
  readonly #hooks: HeartbeatHooks;
  #cancelSend: (() => void) | undefined;
  #cancelReceive: (() => void) | undefined;
  #testRequests = 0;

  constructor(clock: Clock, seconds: number, hooks: HeartbeatHooks) {
    this.#clock = clock;
    this.seconds = seconds;
    this.#hooks = hooks;
  }

  /** Something was written: the idle interval starts again. */
  sent(): void {
    this.#cancelSend?.();
    if (this.seconds <= 0 || this.#hooks.state() === "disconnected") return;
    this.#cancelSend = this.#clock.after(this.seconds * 1000, () => {
      // During the logon exchange a heartbeat is not allowed yet: wait another interval.
      if (this.#hooks.state() !== "active") return this.sent();
      this.#hooks.sendHeartbeat();
    });
  }

  /** Something arrived (or a connection began): the peer is not silent. */
  received(): void {
    this.#cancelReceive?.();
    this.#testRequests = 0;
    this.#scheduleSilenceCheck();
  }

  stop(): void {
    this.#cancelSend?.();
    this.#cancelReceive?.();
  }

  #scheduleSilenceCheck(): void {
    if (this.seconds <= 0 || this.#hooks.state() === "disconnected") return;
    this.#cancelReceive = this.#clock.after(this.seconds * 1200, () => {
      if (this.#hooks.state() === "awaiting-logon") {
        return this.#hooks.close("no Logon within the heartbeat interval");
      }
      if (this.#testRequests > 0) return this.#hooks.close("peer silent: TestRequest unanswered");
      this.#testRequests++;
      this.#hooks.sendTestRequest();
      this.#scheduleSilenceCheck();
    });
  }
}
