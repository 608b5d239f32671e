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
import fs from "node:fs";
import path from "node:path";
import { type BundleFormat, bundleInPlace } from "./bundle.ts";
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
const BUNDLES: ReadonlyArray<{
  entry: string;
  separateRoots: string[];
  keepShared?: boolean;
  format?: BundleFormat;
}> = [
  // CommonJS (service-thread.cjs): it imports only Node's built-ins, and a thread whose
  // entry is an ES module has Node's ES module loader resolve, load and link it, which
  // cost ~3–4 ms of the thread's CPU (same-run A/B, 25 rounds each: the thread's CPU by
  // the first cell's result 49.4–51.0 → 46.7–46.8 ms, start → that result 115–116 →
  // 110–111 ms).
  { entry: "workers/executors/service-thread.ts", separateRoots: [], format: "cjs" },
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
    finish: ({ dir, edges, threadEntries }) => {
      const bundled: Record<string, boolean> = {};
      for (const { entry, separateRoots, keepShared, format } of BUNDLES) {
        if (!edges.has(entry)) continue;
        const outside = separateRoots.flatMap((separate) => [...reachable(edges, separate)]);
        if (keepShared === true) outside.push(...sharedWithTheRest(edges, entry));
        const bundle = bundleInPlace(
          path.join(dir, toJs(entry)),
          outside.map((module) => path.join(dir, toJs(module))),
          format,
        );
        bundled[entry] = bundle !== undefined;
        if (bundle !== undefined && format === "cjs") renameThread(dir, threadEntries, entry);
      }
      return bundled;
    },
  });
}

/**
 * Points every `new URL("./x.js", import.meta.url)` that names `entry` (a thread entry
 * now bundled as `x.cjs`) at the new name. Runs before the modules naming it are bundled
 * (BUNDLES lists the thread first); a bundle keeps the literal as it is.
 */
function renameThread(
  dir: string,
  threadEntries: ReadonlyMap<string, readonly string[]>,
  entry: string,
): void {
  for (const [module, entries] of threadEntries) {
    if (!entries.includes(entry)) continue;
    const file = path.join(dir, toJs(module));
    let specifier = path.posix.relative(path.posix.dirname(module), toJs(entry));
    if (!specifier.startsWith(".")) specifier = `./${specifier}`;
    const named = `new URL(${JSON.stringify(specifier)}, import.meta.url)`;
    const code = fs.readFileSync(file, "utf8");
    if (!code.includes(named))
      throw new Error(`build: ${module} does not name ${entry} as ${named}`);
    const renamed = named.replace(/\.js"/, '.cjs"');
    fs.writeFileSync(file, code.replaceAll(named, renamed));
  }
}
