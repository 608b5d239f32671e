/**
 * Builds the session worker as plain JavaScript (see tree-build.ts): every module the
 * worker's entry points reach (workers/ and what it imports from src/), emitted into an
 * immutable directory workers/dist/<id> with the sources' layout, named in
 * workers/dist/current. Bare specifiers (`zod`, `@msgpack/msgpack`) still resolve from
 * the package's node_modules, since workers/dist lies inside the package. The exceptions
 * to the per-file layout are the worker's thread entries and the checkpoint codec, each
 * bundled into one file (see bundle.ts and `BUNDLES`).
 *
 * Run by `npm run build` (and so by `npm ci`, through `prepare`): see build.ts.
 */
import path from "node:path";
import { bundleInPlace } from "./bundle.ts";
import { BUILD_DIR } from "./manifest.ts";
import { BUILD_MACHINERY, type BuildReport, buildTree, reachable, toJs } from "./tree-build.ts";

export type { BuildReport } from "./tree-build.ts";

/** What the host spawns or preloads; everything else is found from their imports. */
export const WORKER_ENTRIES = ["workers/session-worker.ts", "workers/builtin-guard.ts"];
/** These files decide what the build emits, so a change to one makes the build stale too. */
const BUILDER_SOURCES = ["src/build/worker-build.ts", ...BUILD_MACHINERY];
/**
 * Entries emitted as one file each (see bundle.ts), and the modules loaded by path in the
 * same thread whose module graphs stay outside the bundle, one instance each: the
 * checkpoint codec (`createRequire` of its URL) and the builtin guard (a `--require` of
 * the threads a cell starts). The main thread's entry is a bundle of its own, apart from
 * the rest of that thread (session-main.ts): it starts the service thread, and must not
 * load the rest before it has.
 */
const BUNDLES: ReadonlyArray<{ entry: string; separateRoots: string[]; keepShared?: boolean }> = [
  { entry: "workers/executors/service-thread.ts", separateRoots: [] },
  { entry: "workers/session-worker.ts", separateRoots: ["workers/session-main.ts"] },
  {
    entry: "workers/session-main.ts",
    separateRoots: ["src/checkpoint/index.ts", "workers/builtin-guard.ts"],
  },
  // The codec is one file too (its ~45 modules cost a worker ~35 ms of CPU to resolve,
  // read and compile one by one, ~22 ms bundled), but not what the rest of the thread
  // imports as well (`src/errors.ts`, `globals.ts`): those stay one instance each.
  { entry: "src/checkpoint/index.ts", separateRoots: [], keepShared: true },
];

/**
 * The modules of `root`'s graph that a module outside it imports too, with everything
 * they reach: bundled into `root`, they would exist twice in a thread.
 */
function sharedWithTheRest(edges: ReadonlyMap<string, readonly string[]>, root: string): string[] {
  const inside = reachable(edges, root);
  const shared = new Set<string>();
  for (const [module, imports] of edges) {
    if (inside.has(module)) continue;
    for (const imported of imports) {
      if (imported === root || !inside.has(imported)) continue;
      for (const reached of reachable(edges, imported)) shared.add(reached);
    }
  }
  return [...shared];
}

export interface BuildOptions {
  /** The package root the sources and entries are relative to. */
  root: string;
  /** Where builds are kept; default `<root>/workers/dist`. */
  distDir?: string;
  entries?: string[];
  /** Files whose change must make the build stale without being emitted. */
  extraSources?: string[];
}

/** Emits the worker build and makes it current; an identical build is reused, not rewritten. */
export function buildWorkers(options: BuildOptions): BuildReport {
  return buildTree({
    root: options.root,
    distDir: options.distDir ?? path.join(options.root, BUILD_DIR),
    entries: options.entries ?? WORKER_ENTRIES,
    extraSources: options.extraSources ?? BUILDER_SOURCES,
    finish: ({ dir, edges }) => {
      const bundled: Record<string, boolean> = {};
      for (const { entry, separateRoots, keepShared } of BUNDLES) {
        if (!edges.has(entry)) continue;
        const outside = separateRoots.flatMap((separate) => [...reachable(edges, separate)]);
        if (keepShared === true) outside.push(...sharedWithTheRest(edges, entry));
        bundled[entry] = bundleInPlace(
          path.join(dir, toJs(entry)),
          outside.map((module) => path.join(dir, toJs(module))),
        );
      }
      return bundled;
    },
  });
}
