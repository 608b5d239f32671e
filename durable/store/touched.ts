/**
 * Which objects one `Server.apply` touched. The store writes the *current* state of each
 * of them (read back from the server after the apply), not the change records: a change
 * record is a snapshot taken mid-apply and omits callbacks, listeners and resumes.
 */

import type { Message } from "@resonatehq/sdk";
import { StoreError } from "../../src/errors.ts";
import type { ServerChange } from "./sdk.ts";

/** A message the server sent (a `message.send` change), with the address it is for. */
export interface SentMessage {
  address: string;
  message: Message;
}

export interface TouchedObjects {
  promises: Set<string>;
  tasks: Set<string>;
  schedules: Set<string>;
  promiseTimeouts: Set<string>;
  taskTimeouts: Set<string>;
  scheduleTimeouts: Set<string>;
  /** Messages sent, in order; written only by a store that persists them (outbox.ts). */
  messages: SentMessage[];
}

export function emptyTouched(): TouchedObjects {
  return {
    promises: new Set(),
    tasks: new Set(),
    schedules: new Set(),
    promiseTimeouts: new Set(),
    taskTimeouts: new Set(),
    scheduleTimeouts: new Set(),
    messages: [],
  };
}

/** No object touched (messages are not objects: see outbox.ts for whether they are written). */
export function isEmptyTouched(touched: TouchedObjects): boolean {
  const { messages: _messages, ...objects } = touched;
  return Object.values(objects).every((ids) => ids.size === 0);
}

/** Adds what `changes` touched to `into`; returns `into`. */
export function collectTouched(
  changes: readonly ServerChange[],
  into = emptyTouched(),
): TouchedObjects {
  for (const change of changes) {
    switch (change.kind) {
      case "promise.set":
        into.promises.add(change.promise.id);
        break;
      case "task.set":
        into.tasks.add(change.task.id);
        break;
      case "schedule.set":
        into.schedules.add(change.schedule.id);
        break;
      case "schedule.del":
        into.schedules.add(change.id);
        break;
      case "ptimeout.set":
        into.promiseTimeouts.add(change.timeout.id);
        break;
      case "ptimeout.del":
        into.promiseTimeouts.add(change.id);
        break;
      case "ttimeout.set":
        into.taskTimeouts.add(change.timeout.id);
        break;
      case "ttimeout.del":
        into.taskTimeouts.add(change.id);
        break;
      case "stimeout.set":
        into.scheduleTimeouts.add(change.timeout.id);
        break;
      case "stimeout.del":
        into.scheduleTimeouts.add(change.id);
        break;
      case "message.send":
        // Stored only by a store with an outbox (capsule serve, outbox.ts); otherwise
        // delivered from memory, and recovery re-dispatches every unsettled task.
        into.messages.push({ address: change.address, message: change.message });
        break;
      default: {
        const unknownChange: never = change;
        throw new StoreError(
          "STORE_SDK_SHAPE",
          `the SDK server reported an unknown change kind: ${JSON.stringify(unknownChange)}`,
        );
      }
    }
  }
  return into;
}
