/**
 * Builds the session worker as plain JavaScript: every module the worker's entry points
 * reach (workers/ and what it imports from src/), each stripped of its types with Node's
 * own `module.stripTypeScriptTypes` and its relative `.ts` specifiers rewritten to `.js`,
 * into an immutable directory workers/dist/<id> with the same layout, then names it in
 * workers/dist/current. Stripping replaces types with whitespace, so lines and columns
 * (and stack traces) stay those of the sources. Bare specifiers (`zod`, `@msgpack/msgpack`)
 * still resolve from the package's node_modules, since workers/dist lies inside the
 * package. The exceptions to the per-file layout are the worker's two thread entries,
 * each bundled into one file for its start (see bundle.ts and `BUNDLES`).
 *
 * Run by `npm run build` (and so by `npm ci`, through `prepare`):
 * `node src/build/worker-build.ts [--if-stale]`.
 */
import fs from "node:fs";
import { stripTypeScriptTypes } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "acorn";
import { simple } from "acorn-walk";
import { bundleInPlace } from "./bundle.ts";
import {
  BUILD_DIR,
  CURRENT_FILE,
  currentBuildDir,
  currentStaleReason,
  hashSource,
  MANIFEST_FILE,
  MANIFEST_VERSION,
} from "./manifest.ts";

/** What the host spawns or preloads; everything else is found from their imports. */
export const WORKER_ENTRIES = ["workers/session-worker.ts", "workers/builtin-guard.ts"];
/** These files decide what the build emits, so a change to one makes the build stale too. */
const BUILDER_SOURCES = [
  "src/build/worker-build.ts",
  "src/build/manifest.ts",
  "src/build/bundle.ts",
];
/**
 * Entries emitted as one file each (see bundle.ts), and the modules loaded by path in the
 * same thread whose module graphs stay outside the bundle, one instance each: the
 * checkpoint codec (`createRequire` of its URL) and the builtin guard (a `--require` of
 * the threads a cell starts).
 */
const BUNDLES = [
  { entry: "workers/executors/service-thread.ts", separateRoots: [] },
  {
    entry: "workers/session-worker.ts",
    separateRoots: ["src/checkpoint/index.ts", "workers/builtin-guard.ts"],
  },
];

export interface BuildOptions {
  /** The package root the sources and entries are relative to. */
  root: string;
  /** Where builds are kept; default `<root>/workers/dist`. */
  distDir?: string;
  entries?: string[];
  /** Files whose change must make the build stale without being emitted. */
  extraSources?: string[];
}

export interface BuildReport {
  /** The new current build. */
  buildDir: string;
  /** Emitted modules, relative to the root. */
  modules: string[];
  /** Entries bundled into one file (false: rolldown missing); empty for a reused build. */
  bundled: Record<string, boolean>;
}

/** A relative specifier of a module and where its string literal sits in the stripped code. */
interface SpecifierSite {
  specifier: string;
  start: number;
  end: number;
}

/**
 * A build replaced less than this long ago is kept: a worker spawned from it just before
 * may still be loading its modules.
 */
const KEEP_OLD_BUILDS_MS = 10 * 60 * 1000;

/** Emits the worker build and makes it current; an identical build is reused, not rewritten. */
export function buildWorkers(options: BuildOptions): BuildReport {
  const root = path.resolve(options.root);
  const distDir = path.resolve(options.distDir ?? path.join(root, BUILD_DIR));
  const entries = options.entries ?? WORKER_ENTRIES;
  const emitted = new Map<string, string>();
  /** Each emitted module's relative dependencies, as root-relative paths. */
  const edges = new Map<string, string[]>();
  const pending = entries.map((entry) => path.resolve(root, entry));
  while (pending.length > 0) {
    const file = pending.pop()!;
    const relative = toPosix(path.relative(root, file));
    if (emitted.has(relative)) continue;
    if (relative.startsWith("..")) throw new Error(`worker build: ${file} is outside ${root}`);
    const source = fs.readFileSync(file, "utf8");
    const { code, dependencies } = emitModule(source, relative);
    emitted.set(relative, code);
    const resolved = dependencies.map((dependency) => path.resolve(path.dirname(file), dependency));
    edges.set(
      relative,
      resolved.map((dependency) => toPosix(path.relative(root, dependency))),
    );
    pending.push(...resolved);
  }
  const sources: Record<string, string> = {};
  for (const source of [...emitted.keys(), ...(options.extraSources ?? BUILDER_SOURCES)].sort()) {
    sources[source] = hashSource(fs.readFileSync(path.join(root, source)));
  }
  const manifest = `${JSON.stringify({ version: MANIFEST_VERSION, entries, sources }, null, 2)}\n`;
  const id = hashSource(manifest).slice(0, 16);
  const buildDir = path.join(distDir, id);
  const bundled: Record<string, boolean> = {};
  if (!fs.existsSync(path.join(buildDir, MANIFEST_FILE))) {
    // Written aside and renamed into place, manifest last: a build directory that exists
    // is complete. Concurrent builds of the same sources race to the same name; one wins.
    const staging = path.join(distDir, `.staging-${process.pid}-${id}`);
    fs.rmSync(staging, { recursive: true, force: true });
    for (const [relative, code] of emitted) {
      const target = path.join(staging, toJs(relative));
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(target, code);
    }
    for (const { entry, separateRoots } of BUNDLES) {
      if (!emitted.has(entry)) continue;
      const outside = separateRoots.flatMap((separate) => [...reachable(edges, separate)]);
      bundled[entry] = bundleInPlace(
        path.join(staging, toJs(entry)),
        outside.map((module) => path.join(staging, toJs(module))),
      );
    }
    fs.writeFileSync(path.join(staging, MANIFEST_FILE), manifest);
    try {
      fs.renameSync(staging, buildDir);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== "ENOTEMPTY" && code !== "EEXIST") throw error;
      fs.rmSync(staging, { recursive: true, force: true });
    }
  }
  // The build being replaced stops being current now: its age, for pruning, starts here.
  const previous = currentBuildDir(distDir);
  if ("dir" in previous && previous.dir !== buildDir && fs.existsSync(previous.dir)) {
    const now = new Date();
    fs.utimesSync(previous.dir, now, now);
  }
  const pointer = path.join(distDir, `.${CURRENT_FILE}-${process.pid}`);
  fs.writeFileSync(pointer, `${id}\n`);
  fs.renameSync(pointer, path.join(distDir, CURRENT_FILE));
  pruneOldBuilds(distDir, id);
  return { buildDir, modules: [...emitted.keys()].sort(), bundled };
}

/** Removes builds replaced long enough ago, and staging left by a build that died. */
function pruneOldBuilds(distDir: string, currentId: string): void {
  for (const entry of fs.readdirSync(distDir, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name === currentId) continue;
    const dir = path.join(distDir, entry.name);
    if (Date.now() - fs.statSync(dir).mtimeMs > KEEP_OLD_BUILDS_MS) {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
}

/**
 * Strips one module's types and rewrites its relative `.ts` specifiers: static imports and
 * re-exports, `import("./x.ts")` with a literal, and `new URL("./x.ts", import.meta.url)`
 * (how a worker thread's module is named). Returns the relative specifiers it depends on.
 */
export function emitModule(source: string, name: string): { code: string; dependencies: string[] } {
  const stripped = stripTypeScriptTypes(source, { mode: "strip" });
  const sites = relativeSpecifiers(stripped, name);
  let code = "";
  let at = 0;
  for (const site of sites.sort((a, b) => a.start - b.start)) {
    code += stripped.slice(at, site.start) + JSON.stringify(site.specifier.replace(/\.ts$/, ".js"));
    at = site.end;
  }
  return { code: code + stripped.slice(at), dependencies: sites.map((site) => site.specifier) };
}

function relativeSpecifiers(code: string, name: string): SpecifierSite[] {
  const sites: SpecifierSite[] = [];
  const literal = (node: unknown): void => {
    const candidate = node as { type?: string; value?: unknown; start: number; end: number };
    if (candidate?.type !== "Literal" || typeof candidate.value !== "string") return;
    const specifier = candidate.value;
    if (!specifier.startsWith("./") && !specifier.startsWith("../")) return;
    if (!specifier.endsWith(".ts")) {
      throw new Error(`worker build: ${name} imports ${specifier}; name the .ts source file`);
    }
    sites.push({ specifier, start: candidate.start, end: candidate.end });
  };
  const tree = parse(code, { ecmaVersion: "latest", sourceType: "module" });
  simple(tree, {
    ImportDeclaration: (node) => literal(node.source),
    ExportNamedDeclaration: (node) => literal(node.source),
    ExportAllDeclaration: (node) => literal(node.source),
    ImportExpression: (node) => literal(node.source),
    NewExpression: (node) => {
      const base = node.arguments[1];
      const isModuleUrl =
        node.callee.type === "Identifier" &&
        node.callee.name === "URL" &&
        base?.type === "MemberExpression" &&
        base.object.type === "MetaProperty" &&
        base.property.type === "Identifier" &&
        base.property.name === "url";
      if (isModuleUrl) literal(node.arguments[0]);
    },
  });
  return sites;
}

/** `from` and every module it reaches through `edges`. */
function reachable(edges: ReadonlyMap<string, readonly string[]>, from: string): Set<string> {
  const seen = new Set<string>();
  const pending = [from];
  while (pending.length > 0) {
    const module = pending.pop()!;
    if (seen.has(module) || !edges.has(module)) continue;
    seen.add(module);
    pending.push(...edges.get(module)!);
  }
  return seen;
}

function toJs(relative: string): string {
  return relative.replace(/\.ts$/, ".js");
}

function toPosix(file: string): string {
  return file.split(path.sep).join("/");
}

if (import.meta.main) {
  const root = fileURLToPath(new URL("../..", import.meta.url));
  const ifStale = process.argv.includes("--if-stale");
  if (ifStale && currentStaleReason(root) === undefined) {
    console.log("worker build: workers/dist is up to date");
  } else {
    const started = performance.now();
    const report = buildWorkers({ root });
    const ms = (performance.now() - started).toFixed(0);
    const where = path.relative(root, report.buildDir);
    const threads = Object.entries(report.bundled).map(
      ([thread, done]) =>
        `${thread} ${done ? "bundled" : "left as modules: rolldown not installed"}`,
    );
    const detail = threads.length === 0 ? "" : ` (${threads.join("; ")})`;
    console.log(`worker build: ${report.modules.length} modules → ${where} in ${ms} ms${detail}`);
  }
}
