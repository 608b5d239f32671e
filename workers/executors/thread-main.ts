/**
 * Runs inside the worker thread of the threaded executor. Each blocking cell gets a
 * fresh context holding a copy of the names it uses; when the cell finishes, the names
 * it declared or may have changed are sent back and merged by the main thread. A cell
 * stopped half-way (cancel, timeout) therefore leaves the session namespace untouched.
 */
import { parentPort } from "node:worker_threads";
import { decodeNamespace, encodeNamespace } from "../../src/checkpoint/index.ts";
import { createSessionContext } from "../context.ts";
import { describeThrown } from "../errors.ts";
import { renderResult } from "../render.ts";
import { runOnMainThread } from "./main-thread.ts";
import {
  type FromThread,
  INPUT_HEADER_BYTES,
  INPUT_LENGTH,
  INPUT_STATE,
  InputState,
  type ThreadRun,
} from "./thread-protocol.ts";

const port = parentPort;
if (port === null) throw new Error("thread-main.ts must run in a worker thread");

const post = (message: FromThread) => port.postMessage(message);

port.on("message", (message: ThreadRun) => {
  void run(message);
});

async function run(request: ThreadRun): Promise<void> {
  const { plan } = request;
  const state = new Int32Array(request.input, 0, 2);
  const answerBytes = new Uint8Array(request.input, INPUT_HEADER_BYTES);
  const session = createSessionContext({
    moduleRoot: request.moduleRoot,
    name: `capsule-thread-${plan.id}`,
    io: {
      write: (stream, data) => post({ type: "output", stream, data }),
      display: (value) =>
        post({ type: "output", stream: "display", data: renderResult(value).display }),
      input: (prompt) => {
        Atomics.store(state, INPUT_STATE, InputState.waiting);
        post({ type: "input", prompt });
        Atomics.wait(state, INPUT_STATE, InputState.waiting);
        const length = Atomics.load(state, INPUT_LENGTH);
        const text = new TextDecoder().decode(answerBytes.slice(0, length));
        if (Atomics.load(state, INPUT_STATE) === InputState.cancelled) {
          throw new Error(text || "input cancelled");
        }
        return text;
      },
    },
  });
  const modules = session.modules;
  const cellPrefix = request.filename.slice(0, request.filename.lastIndexOf("/") + 1);
  try {
    const restored = await decodeNamespace(request.namespace, session.context, {
      loadModule: modules.load,
    });
    for (const [name, value] of restored.values) session.global[name] = value;

    const outcome = await runOnMainThread(plan, session, {
      filename: request.filename,
      signal: new AbortController().signal,
    });
    const encoded = encodeChanges();
    post({
      type: "done",
      result: renderResult(outcome.value),
      changes: encoded.data,
      uncaptured: encoded.uncaptured,
    });
  } catch (thrown) {
    const error = describeThrown(thrown, cellPrefix);
    // A cell that threw keeps what it did before the throw, like a cell on the event loop.
    const encoded = error.code === "EXECUTION_ERROR" ? encodeChanges() : undefined;
    post({
      type: "failed",
      error,
      ...(encoded === undefined ? {} : { changes: encoded.data, uncaptured: encoded.uncaptured }),
    });
  }

  /** The names the cell declared or used, as they are now, for the main thread to merge. */
  function encodeChanges() {
    modules.recordImports(plan.imports, session.global);
    const names = new Set([...plan.declared, ...plan.free]);
    const changed = [...names].filter(
      (name) => Object.hasOwn(session.global, name) && !session.reserved.has(name),
    );
    return encodeNamespace(
      changed.map((name) => [name, session.global[name]] as [string, unknown]),
      { moduleOf: modules.refOf, contextGlobals: session.reserved },
    );
  }
}
