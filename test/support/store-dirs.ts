// The set-up the process-level durable tests share: per test, a fresh root holding
// `capsule/` (the store, created by Capsule.open) and `side/` (files that cells and
// fixtures write to count runs); after it, every JSON-lines child the test started is
// killed and the root removed.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach } from "vitest";
import { killJsonLinesChildren } from "./json-lines-child.ts";

export interface StoreDirs {
  readonly root: string;
  readonly store: string;
  readonly side: string;
}

/** Registers the hooks; read the paths inside a test (they change with each test). */
export function useStoreDirs(prefix: string): StoreDirs {
  let current: StoreDirs | undefined;
  beforeEach(() => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    current = { root, store: path.join(root, "capsule"), side: path.join(root, "side") };
    fs.mkdirSync(current.side);
  });
  afterEach(async () => {
    await killJsonLinesChildren();
    if (current !== undefined) fs.rmSync(current.root, { recursive: true, force: true });
    current = undefined;
  });
  const get = (): StoreDirs => {
    if (current === undefined) throw new Error("useStoreDirs: read the paths inside a test");
    return current;
  };
  return {
    get root() {
      return get().root;
    },
    get store() {
      return get().store;
    },
    get side() {
      return get().side;
    },
  };
}
