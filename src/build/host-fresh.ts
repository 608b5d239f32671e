/**
 * The first module the host build runs: its entries (src/dist/capsule.js, durable.js,
 * cli.js) import it before the bundle itself, so a build whose sources changed since
 * fails at import with `HOST_BUILD_STALE`, naming the file, instead of running code that
 * no longer matches them. The check stats the ~150 sources (~1 ms of a process start,
 * against the ~250 ms the build saves) and hashes only those whose size or mtime moved.
 *
 * Meaningful only inside a build (it finds the build's manifest above itself); nothing
 * imports it from the sources.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { HostBuildError } from "../errors.ts";
import { MANIFEST_FILE, nearestAbove, packageRootOf, staleReason } from "./manifest.ts";

const buildDir = nearestAbove(path.dirname(fileURLToPath(import.meta.url)), MANIFEST_FILE);
const reason = staleReason(packageRootOf(import.meta.url), buildDir);
if (reason !== undefined) {
  throw new HostBuildError(
    `Capsule's JavaScript build (${buildDir}) is out of date: ${reason}. ` +
      "Run `npm run build` (npm ci runs it), or load the TypeScript sources with " +
      "`node --conditions=capsule-source`.",
  );
}
