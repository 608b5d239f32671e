/**
 * Opening the durable store for a command: `--dir`, else env `CAPSULE_DIR`, else
 * `.capsule` in the working directory.
 */
import fs from "node:fs";
import path from "node:path";
import { Capsule } from "../../durable/index.ts";

export interface StoreOptions {
  dir?: string;
}

export function storeDir(options: StoreOptions): string {
  return options.dir ?? process.env.CAPSULE_DIR ?? ".capsule";
}

/**
 * Whether a store was ever created in the directory (Capsule keeps it in `{dir}/store`).
 * Read commands check this first, so that reading never creates an empty store.
 */
export function storeExists(options: StoreOptions): boolean {
  return fs.existsSync(path.join(storeDir(options), "store"));
}

/**
 * Opens Capsule on the store. No session is pre-started (a CLI process runs one session
 * at a time and a read command runs none).
 * @throws StoreLockedError (STORE_LOCKED) when another process holds the store.
 */
export function openStore(options: StoreOptions): Promise<Capsule> {
  return Capsule.open({ dir: storeDir(options), pool: { minIdle: 0 } });
}

/** Runs `work` with the store open, and closes it whatever happens. */
export async function withStore<T>(
  options: StoreOptions,
  work: (capsule: Capsule) => Promise<T>,
): Promise<T> {
  const capsule = await openStore(options);
  try {
    return await work(capsule);
  } finally {
    await capsule.close();
  }
}
