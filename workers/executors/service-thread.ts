/**
 * The session worker's service thread. Every cell runs on the main thread, in the
 * session's one realm; while a cell holds that thread this one keeps the session alive
 * on the wire: it owns the frame pipe (fd 3) and its ProtocolChannel (sequence numbers,
 * resends, idle-only heartbeats, test requests), relays the main thread's messages in
 * the order they were posted, answers a synchronous `input()` the main thread sleeps on,
 * and holds each cell's deadline and cancel.
 *
 * A cell's synchronous part is stopped with the inspector's `Runtime.terminateExecution`
 * on the main thread, which lands even in `while (true) {}` and `Atomics.wait`; the
 * shared `CELL` word (see service-protocol.ts) guarantees it is only requested while
 * that part runs. An awaiting cell is stopped by a message instead.
 *
 * It also watches the process from outside the main thread: a host that is gone (our
 * parent changed) or resident memory over the limit end the process at once.
 */
import { Session as InspectorSession } from "node:inspector";
import { Socket } from "node:net";
import { parentPort, workerData } from "node:worker_threads";
import { fs } from "../../src/builtins.ts";
import { ChannelCore } from "../../src/protocol/channel-core.ts";
import { isHostMessage, trustedPeerMessage } from "../../src/protocol/kinds.ts";
import type { HostMessage } from "../../src/protocol/messages.ts";
import { PausableDeadline } from "../../src/protocol/pausable-deadline.ts";
import { processStatsSampler } from "../../src/protocol/process-stats.ts";
import { IdleCompaction } from "../idle-compaction.ts";
import { MainWatch, STRAY_WAIT_MS } from "./main-watch.ts";
import { OutputCoalescer } from "./output-coalescer.ts";
import { ProcessWatch } from "./process-watch.ts";
import {
  CELL_IDLE,
  CELL_TERMINATING,
  type FromService,
  INPUT_ANSWERED,
  type InputAnswer,
  PIPE_MAIN_WRITING,
  PIPE_READY_WRITTEN,
  PIPE_SERVICE,
  PIPE_UNCLAIMED,
  type ServiceData,
  Slot,
  type StopReason,
  stoppedMarker,
  type ToService,
} from "./service-protocol.ts";

/** After the host asked us to go (or went), how long the main thread gets to exit by itself. */
const EXIT_GRACE_MS = 2000;
/** How long a stopped cell's notice waits for a main thread some callback still holds. */
const STOPPED_WAIT_MS = 250;

const port = parentPort;
if (port === null) throw new Error("service-thread.ts must run in a worker thread");
const data = workerData as ServiceData;
// This thread reads the pipe and the inspector for the whole worker: it must never run
// with less confinement than the process (thread-flags.ts says why it could).
if (data.permissionModel && process.permission === undefined) {
  throw new Error("the service thread started without the permission model");
}
const shared = new Int32Array(data.shared);
// Everything for the main thread goes through the watch, which rings its doorbell.
const watch = new MainWatch({
  shared,
  inbox: data.inbox,
  ring: () => port.postMessage(0),
  idleLimitMs: data.config.defaultTimeoutMs,
  current: () => current,
  diagnostic: (text) => post({ type: "diagnostic", text }),
});
function post(message: FromService, limitMs?: number): void {
  watch.post(message, limitMs);
}

/** The cell the host is running, from its `execute` until the main thread says it is done. */
interface CurrentCell {
  token: number;
  executionId: string;
  /** Stopped while the cell waits for an `input()` answer (a human's time is not the cell's). */
  deadline: PausableDeadline;
  /** Whether `input()` waits stop the deadline (`execute.input_pauses_limit`). */
  inputPausesLimit: boolean;
  stopped: boolean;
}
let current: CurrentCell | undefined;
/** This thread's own heap slack goes back when the session is idle (no cell). */
const compaction = new IdleCompaction({ idle: () => current === undefined });
let nextToken = 1;
/** The id of the synchronous `input()` the main thread is sleeping on, if any. */
let waitingInput: string | undefined;

const sentBefore = takePipe();
const heartbeatFields = processStatsSampler(() => Atomics.load(shared, Slot.NAMESPACE_SIZE));
// The host is the trusted side of the pipe (it validates all we send): its frames get the
// envelope check, not the schema, which would cost this thread zod's start and memory.
const channel = new ChannelCore(new Socket({ fd: 3, readable: true, writable: true }), {
  validate: trustedPeerMessage,
  heartbeatIntervalMs: data.config.heartbeatMs,
  graceMs: data.config.graceMs,
  maxFrameBytes: data.config.maxFrameBytes,
  heartbeatFields,
  sentBefore,
  // The host leads the idle heartbeats, this thread answers: one wake-up a second.
  answerHeartbeats: true,
});
// The host watches a worker whose READY came before this thread from its first heartbeat
// (where there are heartbeats: with none, nobody watches for silence).
if (sentBefore.length > 0 && data.config.heartbeatMs > 0)
  channel.send({ type: "heartbeat", ...heartbeatFields() });
// The worker heartbeats and answers test requests, but does not judge its host by
// silence: a host starved of CPU (a hundred workers starting on two cores) is slow, not
// gone, and ending the session for it lost work. A host that is really gone closes the
// pipe or changes our parent, which the pipe and the watchdog below see.
channel.watchPeer(false);
channel.on("message", (message) => {
  if (isHostMessage(message)) fromHost(message);
  else
    post({
      type: "diagnostic",
      text: `[capsule protocol] unexpected "${message.type}" from the host\n`,
    });
});
channel.on("error", (error: Error) =>
  post({ type: "diagnostic", text: `[capsule protocol] ${error.message}\n` }),
);
channel.on("close", () => leave());
/** Everything the main thread sends goes out through this, in order, writes coalesced. */
const outgoing = new OutputCoalescer((message) => {
  if (!channel.closed) channel.send(message);
});

port.on("message", (message: ToService) => {
  switch (message.type) {
    case "send":
      if (message.done !== undefined && current?.token === message.done) {
        current.deadline.clear();
        current = undefined;
      }
      if (message.message.type === "input") pauseForInput(message.message.id);
      outgoing.send(message.message);
      return;
    case "input":
      waitingInput = message.message.id;
      pauseForInput(message.message.id);
      // A cell stopped while it was not interruptible (awaiting) must not sleep on input.
      if (current?.stopped === true)
        answerInput({ input_id: message.message.id, value: "input cancelled", cancelled: true });
      else outgoing.send(message.message);
      return;
    case "stray_recovered":
      watch.recovered();
      return;
  }
});

// The host gone or memory over the limit end the process at once, from this thread.
const processWatch = new ProcessWatch({
  parentPid: data.parentPid,
  memoryLimitBytes: data.config.memoryLimitBytes,
  cellRunning: () => current !== undefined,
  tick: () => watch.tick(),
  end: (text) => {
    say(text);
    process.kill(process.pid, "SIGKILL");
  },
});
processWatch.start();
// Awake for the host's heartbeat anyway: a look that is nearly due shares the wake-up.
channel.on("heartbeat", () => processWatch.awake());
compaction.activity();

function fromHost(message: HostMessage): void {
  if (message.type !== "heartbeat") compaction.activity();
  switch (message.type) {
    case "execute": {
      // A second cell while one runs gets no token: the main thread answers SESSION_BUSY.
      if (current !== undefined) {
        post({ type: "host", message });
        return;
      }
      const token = nextToken++;
      const timeoutMs = message.timeout_ms ?? data.config.defaultTimeoutMs;
      const cell: CurrentCell = {
        token,
        executionId: message.id,
        stopped: false,
        deadline: new PausableDeadline(timeoutMs, () => stop(cell, "timeout")),
        inputPausesLimit: message.input_pauses_limit === true,
      };
      current = cell;
      processWatch.cellStarted();
      // A stray callback holding the main thread is stopped in time for the cell to run
      // within its own limit (the wait counts against it, as on the host's clock).
      post({ type: "host", message, token }, Math.min(STRAY_WAIT_MS, timeoutMs / 2));
      return;
    }
    case "cancel":
      if (current !== undefined && current.executionId === message.execution_id)
        stop(current, "cancel");
      return;
    case "input_response":
      current?.deadline.resume(message.input_id);
      if (message.input_id === waitingInput) {
        answerInput({
          input_id: message.input_id,
          value: message.value,
          cancelled: message.cancelled ?? false,
          ...(message.code === undefined ? {} : { code: message.code }),
        });
      } else post({ type: "host", message });
      return;
    case "shutdown":
      leave();
      return;
    default:
      post({ type: "host", message });
  }
}

/**
 * Takes the pipe (see `PIPE` in service-protocol.ts); returns the frame the main thread
 * wrote to it before this thread was up (its READY), if it did.
 */
function takePipe(): Uint8Array[] {
  for (;;) {
    const seen = Atomics.compareExchange(shared, Slot.PIPE, PIPE_UNCLAIMED, PIPE_SERVICE);
    if (seen === PIPE_UNCLAIMED) return [];
    if (seen === PIPE_READY_WRITTEN) {
      Atomics.store(shared, Slot.PIPE, PIPE_SERVICE);
      const length = Atomics.load(shared, Slot.READY_BYTES);
      return [new Uint8Array(data.readyFrame, 0, length).slice()];
    }
    // MAIN_WRITING: a write of a few dozen bytes, over in microseconds.
    Atomics.wait(shared, Slot.PIPE, PIPE_MAIN_WRITING, 100);
  }
}

/**
 * Stops a cell: interrupts its synchronous part if that is what runs, else marks the cell
 * stopped so that part never starts (or tells the awaiting cell by message).
 */
function stop(cell: CurrentCell, reason: StopReason): void {
  if (cell.stopped) return;
  cell.stopped = true;
  cell.deadline.clear();
  for (;;) {
    const seen = Atomics.compareExchange(shared, Slot.CELL, cell.token, CELL_TERMINATING);
    if (seen === cell.token) {
      terminateMainThread();
      // Posted after the termination: the main thread reads it once it has unwound.
      post({ type: "stopped", token: cell.token, reason, terminated: true });
      break;
    }
    // IDLE, or the marker an earlier cell left: the synchronous part is not running.
    if (seen === CELL_IDLE || seen < CELL_TERMINATING) {
      const marker = stoppedMarker(cell.token);
      if (Atomics.compareExchange(shared, Slot.CELL, seen, marker) !== seen) continue;
      // The main thread owes this notice; if a callback holds it, that goes soon.
      post({ type: "stopped", token: cell.token, reason, terminated: false }, STOPPED_WAIT_MS);
      break;
    }
    // TERMINATING for another token cannot happen (one cell at a time); do not spin on it.
    post({
      type: "diagnostic",
      text: `[capsule] cannot stop cell ${cell.executionId}: state ${seen}\n`,
    });
    break;
  }
  // An `input()` the cell sleeps on wakes too; if the termination has not landed yet, the
  // wake-up makes that `input()` throw instead of returning.
  if (waitingInput !== undefined)
    answerInput({ input_id: waitingInput, value: "input cancelled", cancelled: true });
}

/**
 * Asks V8 to terminate the main thread's JavaScript. The inspector session lives only
 * until V8 has answered: a session left connected makes Node print "Waiting for the
 * debugger to disconnect" when the process exits.
 */
function terminateMainThread(): void {
  const inspector = new InspectorSession();
  inspector.connectToMainThread();
  inspector.post("Runtime.terminateExecution", (error) => {
    inspector.disconnect();
    if (error !== null)
      post({ type: "diagnostic", text: `[capsule] interrupt failed: ${error.message}\n` });
  });
}

/** A cell whose limit excludes human time (a durable question) stops its clock. */
function pauseForInput(inputId: string): void {
  if (current?.inputPausesLimit === true) current.deadline.pause(inputId);
}

function answerInput(answer: InputAnswer): void {
  waitingInput = undefined;
  data.answers.postMessage(answer);
  Atomics.store(shared, Slot.INPUT, INPUT_ANSWERED);
  Atomics.notify(shared, Slot.INPUT);
}

/** The host asked us to shut down, or closed the pipe: stop the cell, then exit. */
let leaving = false;
function leave(): void {
  if (leaving) return;
  leaving = true;
  compaction.stop();
  outgoing.flush();
  if (current !== undefined) stop(current, "shutdown");
  post({ type: "exit" });
  // A main thread that cannot get to its exit (stuck in a native call) is ended from here.
  setTimeout(() => {
    say("\ncapsule: the worker did not exit after shutdown; ending it\n");
    process.kill(process.pid, "SIGKILL");
  }, EXIT_GRACE_MS).unref();
}

/**
 * Last words for the host's crash report, straight to fd 2: a worker thread's
 * `process.stderr` goes through the main thread, which may be the one stuck. With the host
 * gone stderr is a broken pipe, and a failed write must not stop the kill that follows.
 */
function say(text: string): void {
  try {
    fs.writeSync(2, text);
  } catch {
    // nothing to tell, nobody to tell it to
  }
}
