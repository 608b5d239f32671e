/** The FIX session layer's public shapes: what it writes to, what it reports, its options. */
import type { Clock } from "./clock.ts";
import type { FixMessage } from "./codec.ts";
import type { DurableSessionStore } from "./store.ts";

/** Where the session writes its bytes; a TCP socket in practice (see transport.ts). */
export interface Transport {
  write(raw: Buffer): void;
  /** Ends the connection after what was written is flushed. */
  close(): void;
}

export type SessionEvent =
  | { type: "sent"; message: FixMessage; resent: boolean }
  | { type: "dropped"; message: FixMessage }
  | { type: "received"; message: FixMessage }
  | { type: "logged-on"; heartBtInt: number; nextIn: number; nextOut: number }
  | { type: "gap"; expected: number; received: number }
  | { type: "resend-answered"; begin: number; end: number; resent: number[]; gapFills: string[] }
  | { type: "reset"; epoch: number }
  | { type: "ended"; reason: string };

/** Fault injection for tests: return true to lose a message on its way. */
export interface Faults {
  dropOutbound?(message: FixMessage): boolean;
  dropInbound?(message: FixMessage): boolean;
}

export interface SessionOptions {
  role: "initiator" | "acceptor";
  senderCompId: string;
  targetCompId: string;
  /** HeartBtInt(108) in seconds; an initiator proposes it, an acceptor adopts the peer's. */
  heartBtInt: number;
  store: DurableSessionStore;
  clock?: Clock;
  /** Called for each application message, in MsgSeqNum order; awaited before it counts as received. */
  onApplication?(message: FixMessage): Promise<void> | void;
  onEvent?(event: SessionEvent): void;
  faults?: Faults;
}

export type SessionState = "disconnected" | "awaiting-logon" | "active" | "logout-sent";
