/**
 * Opening the durable store for a command: a server with `--url` (env `RESONATE_URL`:
 * `capsule serve` or a Resonate server), else the embedded store in `--dir`, else env
 * `CAPSULE_DIR`, else `.capsule` in the working directory.
 */
import fs from "node:fs";
import path from "node:path";
import { Capsule } from "../../durable/index.ts";
import { resolveRemoteUrl } from "../../durable/remote.ts";

export interface StoreOptions {
  dir?: string;
  /** A server's URL (default: env `RESONATE_URL`); with it, `dir` is not used. */
  url?: string;
  /** The server's bearer token (default: env `RESONATE_TOKEN`). */
  token?: string;
}

export function storeDir(options: StoreOptions): string {
  return options.dir ?? process.env.CAPSULE_DIR ?? ".capsule";
}

/**
 * Whether a store was ever created in the directory (Capsule keeps it in `{dir}/store`).
 * Read commands check this first, so that reading never creates an empty store.
 */
export function storeExists(options: StoreOptions): boolean {
  // A server always has its store; asking it creates nothing.
  if (resolveRemoteUrl(options.url) !== undefined) return true;
  return fs.existsSync(path.join(storeDir(options), "store"));
}

/**
 * Opens Capsule on the store. No session is pre-started (a CLI process runs one session
 * at a time and a read command runs none).
 * @throws StoreLockedError (STORE_LOCKED) when another process holds the store.
 */
export function openStore(options: StoreOptions, group?: string): Promise<Capsule> {
  return Capsule.open({
    dir: storeDir(options),
    ...(options.url === undefined ? {} : { url: options.url }),
    ...(options.token === undefined ? {} : { token: options.token }),
    ...(group === undefined ? {} : { group }),
    pool: { minIdle: 0 },
  });
}

/**
 * The worker group of the read commands on a server: one no task is ever sent to, so a
 * server never hands a read command an execution to run (it would join "default").
 */
const READERS_GROUP = "capsule-readers";

/** Runs `work` with the store open, and closes it whatever happens. */
export async function withStore<T>(
  options: StoreOptions,
  work: (capsule: Capsule) => Promise<T>,
): Promise<T> {
  const capsule = await openStore(options, READERS_GROUP);
  try {
    return await work(capsule);
  } finally {
    await capsule.close();
  }
}
