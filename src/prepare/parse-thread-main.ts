/**
 * Entry of a host-side parse thread: prepares one cell per request, in order. A cell that
 * exhausts this thread's heap kills only the thread (its `resourceLimits`); the host
 * replaces it.
 */
import { parentPort } from "node:worker_threads";
import { ExecutionError } from "../errors.ts";
import { prepareCell } from "./index.ts";
import {
  type ParseReply,
  type ParseRequest,
  preparationErrorFields,
} from "./parse-thread-protocol.ts";

if (parentPort === null) throw new Error("parse-thread-main.ts must run as a worker thread");
const port = parentPort;

port.on("message", (request: ParseRequest) => {
  port.postMessage(answer(request));
});

function answer({ id, code, options }: ParseRequest): ParseReply {
  try {
    return { id, ok: true, prepared: prepareCell(code, options) };
  } catch (error) {
    if (error instanceof ExecutionError) {
      return { id, ok: false, error: preparationErrorFields(error) };
    }
    const { name, message, stack } =
      error instanceof Error ? error : new Error(`non-error thrown: ${String(error)}`);
    return {
      id,
      ok: false,
      failure: stack === undefined ? { name, message } : { name, message, stack },
    };
  }
}
