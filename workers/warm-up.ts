/**
 * What a fresh worker does in its idle time right after READY, before any cell: V8
 * compiles a function on its first call, so the first cell of a worker paid for compiling
 * the cell path (a script compiled and run in the session's realm, the result rendered)
 * and, with `checkpoints`, for loading the checkpoint codec and its first full encode and
 * restore. Running each once on throwaway input moves that to the time a worker waits for
 * its first cell. Nothing the namespace holds is read or changed, and nothing is sent to
 * the host. The codec is ~5 MiB of private memory: an idle session that may never
 * checkpoint (most cells of a plain session name nothing the first time) does not load it
 * before it is needed; a pool's workers, leased by durable executions, do.
 */
import { compileUncached } from "../src/vm/uncached-script.ts";
import type { Checkpointing } from "./checkpointing.ts";
import type { SessionContext } from "./context.ts";
import { renderResult } from "./render.ts";

export async function warmUp(
  session: SessionContext,
  checkpoints: Checkpointing | undefined,
): Promise<void> {
  compileUncached("void 0", {
    filename: "capsule-warm-up.js",
    importModuleDynamically: session.modules.dynamicImport,
  }).runInContext(session.context, { displayErrors: false });
  renderResult({ n: 1, list: [1, "x"], nested: { ok: true, at: null } });
  await checkpoints?.warm();
}
