/** What the FIX tests share: a temporary Capsule store, a jspurefix peer, cleanup. */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach } from "vitest";
import { Capsule } from "../../durable/index.ts";
import { MsgType, Tag } from "../../examples/fix/codec.ts";
import type { FixSession, SessionEvent } from "../../examples/fix/session.ts";
import { JspurefixPeer, type PeerOptions } from "./jspurefix-peer.ts";

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `capsule-fix-${prefix}-`));
}

/**
 * Removes a directory a test made. jspurefix finishes its file-store writes after it
 * says it stopped, so a removal can meet a file written meanwhile: retry (Node's own).
 */
export function removeDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 20 });
}

const peerStores: string[] = [];

/** Removes the stores made for peers by `startPeer` (for afterAll, when they are long stopped). */
export function removePeerStores(): void {
  for (const dir of peerStores.splice(0)) removeDir(dir);
}

/**
 * Registers the hooks every FIX test file needs and returns the list a test pushes its
 * cleanups to: they run after the test, last first; peer stores go after the file.
 */
export function useCleanups(): (() => Promise<void> | void)[] {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterAll(removePeerStores);
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  return cleanups;
}

export async function openCapsule(dir: string): Promise<Capsule> {
  return Capsule.open({ dir, pool: { minIdle: 0 } });
}

export function startPeer(options: Omit<PeerOptions, "storeDir"> & { storeDir?: string }) {
  if (options.storeDir !== undefined)
    return JspurefixPeer.start({ ...options, storeDir: options.storeDir });
  const storeDir = tempDir("peer");
  peerStores.push(storeDir);
  return JspurefixPeer.start({ ...options, storeDir });
}

/** Records a session's events and lets a test wait for one. */
export class EventLog {
  readonly events: (SessionEvent & { at: number })[] = [];
  readonly #waiters: { where: (e: SessionEvent) => boolean; resolve: (e: SessionEvent) => void }[] =
    [];

  readonly listener = (event: SessionEvent): void => {
    this.events.push({ ...event, at: Date.now() });
    for (const waiter of [...this.#waiters]) {
      if (waiter.where(event)) {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        waiter.resolve(event);
      }
    }
  };

  next(where: (e: SessionEvent) => boolean, from = 0): Promise<SessionEvent> {
    const seen = this.events.slice(from).find(where);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve) => this.#waiters.push({ where, resolve }));
  }

  /** The messages we sent (resent or not), in order. */
  sent(): { msgType: string; seq: number; resent: boolean; at: number }[] {
    return this.events.flatMap((e) =>
      e.type === "sent"
        ? [{ msgType: e.message.msgType, seq: e.message.seqNum ?? 0, resent: e.resent, at: e.at }]
        : [],
    );
  }
}

export const isSent = (msgType: string) => (e: SessionEvent) =>
  e.type === "sent" && e.message.msgType === msgType;

export const isReceived = (msgType: string) => (e: SessionEvent) =>
  e.type === "received" && e.message.msgType === msgType;

/** A NewOrderSingle body as jspurefix's FIX42 dictionary requires it. */
export function orderFields(clOrdId: string, qty = 100): [number, string][] {
  return [
    [Tag.ClOrdID, clOrdId],
    [Tag.HandlInst, "1"],
    [Tag.Symbol, "ACME"],
    [Tag.Side, "1"],
    [Tag.TransactTime, "20261201-20:00:00.000"],
    [Tag.OrderQty, String(qty)],
    [Tag.OrdType, "1"],
  ];
}

export async function sendOrder(session: FixSession, clOrdId: string): Promise<number> {
  return session.sendApplication(MsgType.NewOrderSingle, orderFields(clOrdId));
}
