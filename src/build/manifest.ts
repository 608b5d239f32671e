/**
 * A build's manifest, and the check that no stale build runs. Workers, and processes that
 * import Capsule's package entries, run plain JavaScript emitted from Capsule's
 * TypeScript sources (see worker-build.ts, host-build.ts) so that they do not pay for
 * Node's TypeScript stripper at every start; the manifest records a hash of every source
 * the build read, and a build whose sources have changed since is refused.
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { WorkerBuildError } from "../errors.ts";

/**
 * Where builds live, relative to the package root; inside the worker's readable code.
 * Each build is an immutable directory named by its id; `current` names the one to spawn.
 * A build is never rewritten in place: a worker still loading modules (its service thread
 * loads after the main thread) must never see files of another build.
 */
export const BUILD_DIR = path.join("workers", "dist");
export const CURRENT_FILE = "current";
export const MANIFEST_FILE = "manifest.json";
/** Bumped when the emitted layout changes, so an old build is rebuilt, not trusted. */
export const MANIFEST_VERSION = 3;

export interface WorkerBuildManifest {
  version: number;
  /** Source path (relative to the package root, `/`-separated) → sha256 of its content. */
  sources: Record<string, string>;
  /**
   * Source path → its size and mtime (ms) as the build saw them, taken before it read the
   * file: a source that still has both is unchanged without reading and hashing it.
   */
  stats: Record<string, [number, number]>;
}

/**
 * The package root: the nearest directory above the module at `moduleUrl` that holds a
 * `package.json`. The same from a source file (src/session/spawn.ts) and from the host
 * build's bundles (src/dist/<id>/*.js), which hold none of their own.
 */
export function packageRootOf(moduleUrl: string): string {
  return nearestAbove(path.dirname(fileURLToPath(moduleUrl)), "package.json");
}

/** The nearest directory from `dir` upwards (itself included) that holds `name`. */
export function nearestAbove(dir: string, name: string): string {
  for (let at = path.resolve(dir); ; at = path.dirname(at)) {
    if (fs.existsSync(path.join(at, name))) return at;
    if (path.dirname(at) === at) throw new Error(`no ${name} above ${dir}`);
  }
}

/**
 * sha256 of a source, in hex. node:crypto is loaded at the first call, not with this
 * module: loading it costs ~10 ms of a process start that the fast path of
 * `staleReason` does not need.
 */
export function hashSource(content: string | Buffer): string {
  const { createHash } = process.getBuiltinModule("node:crypto");
  return createHash("sha256").update(content).digest("hex");
}

/** Reads the manifest of the build in `buildDir`, or explains why there is none usable. */
export function readManifest(buildDir: string): WorkerBuildManifest | string {
  const file = path.join(buildDir, MANIFEST_FILE);
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === "ENOENT" ? `there is no build (${file} is missing)` : `${file} is unreadable`;
  }
  if (
    typeof parsed !== "object" ||
    parsed === null ||
    (parsed as { version?: unknown }).version !== MANIFEST_VERSION ||
    typeof (parsed as { sources?: unknown }).sources !== "object" ||
    typeof (parsed as { stats?: unknown }).stats !== "object"
  ) {
    return `${file} is not a version ${MANIFEST_VERSION} manifest`;
  }
  return parsed as WorkerBuildManifest;
}

/**
 * Why the build in `buildDir` must not run (a source changed, went missing, or there is
 * no build), or `undefined` when every source it was built from is unchanged.
 */
export function staleReason(root: string, buildDir: string): string | undefined {
  const manifest = readManifest(buildDir);
  if (typeof manifest === "string") return manifest;
  for (const [source, hash] of Object.entries(manifest.sources)) {
    const file = path.join(root, source);
    const stat = fs.statSync(file, { throwIfNoEntry: false });
    if (stat === undefined) return `${source} was removed since the build`;
    const seen = manifest.stats[source];
    if (seen !== undefined && seen[0] === stat.size && seen[1] === stat.mtimeMs) continue;
    let content: Buffer;
    try {
      content = fs.readFileSync(file);
    } catch {
      return `${source} was removed since the build`;
    }
    if (hashSource(content) !== hash) return `${source} changed since the build`;
  }
  return undefined;
}

/** The directory of the current build under `distDir`, or why there is none. */
export function currentBuildDir(distDir: string): { dir: string } | { missing: string } {
  const file = path.join(distDir, CURRENT_FILE);
  let id: string;
  try {
    id = fs.readFileSync(file, "utf8").trim();
  } catch {
    return { missing: `there is no build (${file} is missing)` };
  }
  if (!/^[0-9a-f]{16}$/.test(id)) return { missing: `${file} does not name a build` };
  return { dir: path.join(distDir, id) };
}

/** Why the current build of `root` must not run, or `undefined` when it may. */
export function currentStaleReason(root: string, distDir = path.join(root, BUILD_DIR)) {
  const current = currentBuildDir(distDir);
  return "missing" in current ? current.missing : staleReason(root, current.dir);
}

/**
 * Set to `rebuild-stale` (the test suite does, since engineers edit sources under running
 * tests) and a stale build is rebuilt at the next spawn instead of refused.
 */
export const REBUILD_ENV = "CAPSULE_WORKER_BUILD";

const verified = new Map<string, string>();

/**
 * The directory of `root`'s current worker build, after checking that it matches its
 * sources; throws `WorkerBuildError` (`WORKER_BUILD_STALE`) otherwise (or rebuilds, see
 * `REBUILD_ENV`). Hashing every source costs about a millisecond, so it is done once per
 * host process and root: a host that outlives an edit keeps spawning the build it checked.
 */
export async function freshWorkerBuild(root: string): Promise<string> {
  const known = verified.get(root);
  if (known !== undefined) return known;
  const distDir = path.join(root, BUILD_DIR);
  let reason = currentStaleReason(root, distDir);
  if (reason !== undefined && process.env[REBUILD_ENV] === "rebuild-stale") {
    // Loaded only here: the host's start-up path never pays for the parser and stripper.
    const { buildWorkers } = await import("./worker-build.ts");
    buildWorkers({ root, distDir });
    reason = currentStaleReason(root, distDir);
  }
  const current = currentBuildDir(distDir);
  if (reason !== undefined || "missing" in current) {
    throw new WorkerBuildError(
      `Capsule's worker build is out of date: ${reason}. ` +
        "Run `npm run build` (npm ci runs it) to rebuild workers/dist from the sources.",
    );
  }
  verified.set(root, current.dir);
  return current.dir;
}
