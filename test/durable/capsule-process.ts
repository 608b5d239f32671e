// Starts test/durable/fixtures/capsule-child.ts, which reports as JSON lines.
import path from "node:path";
import { fileURLToPath } from "node:url";
import {
  type JsonLinesChild,
  killJsonLinesChildren,
  startJsonLinesChild,
} from "../support/json-lines-child.ts";

export { killHard } from "../support/json-lines-child.ts";
export { waitForPidsGone } from "../support/processes.ts";

const FIXTURE = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  "fixtures",
  "capsule-child.ts",
);

export type CapsuleChild = JsonLinesChild;

export function startCapsuleChild(
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): CapsuleChild {
  return startJsonLinesChild(FIXTURE, args, env);
}

export const killCapsuleChildren = killJsonLinesChildren;
