/**
 * What a fresh worker does in its idle time right after READY, before any cell: V8
 * compiles a function on its first call, so the first cell of a worker paid for compiling
 * the cell path (a script compiled and run in the session's realm, the result rendered,
 * the first full checkpoint encoded) and a restore for the decoder. Running each once on
 * throwaway input moves that to the time a pooled worker waits to be leased. Nothing the
 * namespace holds is read or changed, and nothing is sent to the host.
 */
import vm from "node:vm";
import type { Checkpointing } from "./checkpointing.ts";
import type { SessionContext } from "./context.ts";
import { renderResult } from "./render.ts";

export async function warmUp(session: SessionContext, checkpoints: Checkpointing): Promise<void> {
  new vm.Script("void 0", {
    filename: "capsule-warm-up.js",
    importModuleDynamically: session.modules.dynamicImport,
  }).runInContext(session.context, { displayErrors: false });
  renderResult({ n: 1, list: [1, "x"], nested: { ok: true, at: null } });
  await checkpoints.warm();
}
