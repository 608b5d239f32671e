/** A FixSession whose state lives in a Capsule's durable store. */
import type { Capsule } from "../../durable/index.ts";
import { systemClock } from "./clock.ts";
import { BEGIN_STRING } from "./codec.ts";
import { FixSession, type SessionOptions } from "./session.ts";
import { DurableSessionStore } from "./store.ts";

/** The store key of a session, QuickFIX style: `FIX.4.2-<our CompID>-<their CompID>`. */
export function sessionKey(senderCompId: string, targetCompId: string): string {
  return `${BEGIN_STRING}-${senderCompId}-${targetCompId}`;
}

/** Loads the session's sequence numbers from `capsule`'s store and returns the session. */
export async function openSession(
  capsule: Capsule,
  options: Omit<SessionOptions, "store">,
): Promise<FixSession> {
  const store = new DurableSessionStore(
    capsule.promises,
    sessionKey(options.senderCompId, options.targetCompId),
  );
  await store.load((options.clock ?? systemClock).now());
  return new FixSession({ ...options, store });
}
