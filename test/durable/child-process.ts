// Starts test/durable/fixtures/store-child.ts, which reports as JSON lines.
import path from "node:path";
import { fileURLToPath } from "node:url";
import {
  type JsonLinesChild,
  killJsonLinesChildren,
  startJsonLinesChild,
} from "../support/json-lines-child.ts";

const FIXTURE = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  "fixtures",
  "store-child.ts",
);

export type StoreChild = JsonLinesChild;

export function startStoreChild(role: string, dir: string, counterFile?: string): StoreChild {
  return startJsonLinesChild(FIXTURE, [
    role,
    dir,
    ...(counterFile === undefined ? [] : [counterFile]),
  ]);
}

export const killStoreChildren = killJsonLinesChildren;
