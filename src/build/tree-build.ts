/**
 * What the worker build and the host build share: every module some entry points reach,
 * each stripped of its types with Node's own `module.stripTypeScriptTypes` and its
 * relative `.ts` specifiers rewritten to `.js`, is emitted into an immutable directory
 * `<distDir>/<id>` with the sources' layout; a build-specific `finish` step then turns
 * that staged tree into what runs (bundles), the manifest is written last, and
 * `<distDir>/current` names the new build. Stripping replaces types with whitespace, so
 * lines and columns stay those of the sources.
 */
import fs from "node:fs";
import { stripTypeScriptTypes } from "node:module";
import path from "node:path";
import { parse } from "acorn";
import { simple } from "acorn-walk";
import {
  CURRENT_FILE,
  currentBuildDir,
  hashSource,
  MANIFEST_FILE,
  MANIFEST_VERSION,
} from "./manifest.ts";

/**
 * The build machinery every build depends on besides its own builder file: a change to
 * one of these can change what any build emits, so each build lists them among its
 * `extraSources`.
 */
export const BUILD_MACHINERY = [
  "src/build/manifest.ts",
  "src/build/bundle.ts",
  "src/build/tree-build.ts",
];

/** The staged tree a build's `finish` step works on. */
export interface StagedTree {
  /** The staging directory: emitted modules at their sources' paths, with `.js` names. */
  dir: string;
  /** Each emitted module's relative dependencies, as root-relative source paths. */
  edges: ReadonlyMap<string, readonly string[]>;
  /** Each emitted module's `new URL("./x.ts", import.meta.url)` targets (thread entries). */
  threadEntries: ReadonlyMap<string, readonly string[]>;
}

export interface TreeBuildOptions {
  /** The package root the sources and entries are relative to. */
  root: string;
  /** Where builds are kept. */
  distDir: string;
  entries: readonly string[];
  /** Files whose change must make the build stale without being emitted. */
  extraSources: readonly string[];
  /**
   * Turns the staged modules into what runs, in place; returns what it bundled (entry →
   * true, or false where rolldown is missing and the modules stay as emitted).
   */
  finish(staged: StagedTree): Record<string, boolean>;
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
  /** Named by `new URL(…, import.meta.url)`: a thread's entry, not an import. */
  thread: boolean;
}

/**
 * A build replaced less than this long ago is kept: a process that started from it just
 * before may still be loading its modules.
 */
const KEEP_OLD_BUILDS_MS = 10 * 60 * 1000;
/**
 * A source modified this close to the build gets no recorded size and mtime, so the check
 * always hashes it: an edit in the same timestamp tick as the build's stat (ticks are as
 * coarse as 1-2 s on some file systems) could keep both, the "racy clean" case git knows.
 */
const RACY_MS = 2_000;

/** Emits a build and makes it current; an identical build is reused, not rewritten. */
export function buildTree(options: TreeBuildOptions): BuildReport {
  const root = path.resolve(options.root);
  const distDir = path.resolve(options.distDir);
  const startedAt = Date.now();
  const emitted = new Map<string, string>();
  /** Each source's hash, and its size and mtime (see WorkerBuildManifest). */
  const sources: Record<string, string> = {};
  const stats: Record<string, [number, number]> = {};
  const edges = new Map<string, string[]>();
  const threadEntries = new Map<string, string[]>();
  const pending = options.entries.map((entry) => path.resolve(root, entry));
  while (pending.length > 0) {
    const file = pending.pop()!;
    const relative = toPosix(path.relative(root, file));
    if (emitted.has(relative)) continue;
    if (relative.startsWith("..")) throw new Error(`build: ${file} is outside ${root}`);
    // Stat before reading: a source written in between then fails the fast check.
    const { size, mtimeMs } = fs.statSync(file);
    if (mtimeMs < startedAt - RACY_MS) stats[relative] = [size, mtimeMs];
    // The hash is of the bytes, as the check (manifest.ts) reads them.
    const bytes = fs.readFileSync(file);
    sources[relative] = hashSource(bytes);
    const { code, sites } = emitSites(bytes.toString("utf8"), relative);
    emitted.set(relative, code);
    const rootRelative = (site: SpecifierSite): string =>
      toPosix(path.relative(root, path.resolve(path.dirname(file), site.specifier)));
    edges.set(relative, sites.map(rootRelative));
    threadEntries.set(relative, sites.filter((site) => site.thread).map(rootRelative));
    pending.push(...sites.map((site) => path.resolve(path.dirname(file), site.specifier)));
  }
  for (const source of options.extraSources) {
    const { size, mtimeMs } = fs.statSync(path.join(root, source));
    if (mtimeMs < startedAt - RACY_MS) stats[source] = [size, mtimeMs];
    sources[source] = hashSource(fs.readFileSync(path.join(root, source)));
  }
  const content = {
    version: MANIFEST_VERSION,
    entries: options.entries,
    sources: sortedByKey(sources),
  };
  // Named by what it was built from, not by when the sources were last touched.
  const id = hashSource(JSON.stringify(content)).slice(0, 16);
  const manifest = `${JSON.stringify({ ...content, stats: sortedByKey(stats) }, null, 2)}\n`;
  const buildDir = path.join(distDir, id);
  let bundled: Record<string, boolean> = {};
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
    bundled = options.finish({ dir: staging, edges, threadEntries });
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
  replaceFile(path.join(distDir, CURRENT_FILE), `${id}\n`);
  pruneOldBuilds(distDir, id);
  return { buildDir, modules: [...emitted.keys()].sort(), bundled };
}

/** Writes `file` aside and renames it over the old one: a reader sees one or the other. */
export function replaceFile(file: string, content: string): void {
  const aside = path.join(path.dirname(file), `.${path.basename(file)}-${process.pid}`);
  fs.writeFileSync(aside, content);
  fs.renameSync(aside, file);
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
  const { code, sites } = emitSites(source, name);
  return { code, dependencies: sites.map((site) => site.specifier) };
}

function emitSites(source: string, name: string): { code: string; sites: SpecifierSite[] } {
  const stripped = stripTypeScriptTypes(source, { mode: "strip" });
  const sites = relativeSpecifiers(stripped, name).sort((a, b) => a.start - b.start);
  let code = "";
  let at = 0;
  for (const site of sites) {
    code += stripped.slice(at, site.start) + JSON.stringify(toJs(site.specifier));
    at = site.end;
  }
  return { code: code + stripped.slice(at), sites };
}

function relativeSpecifiers(code: string, name: string): SpecifierSite[] {
  const sites: SpecifierSite[] = [];
  const literal = (node: unknown, thread = false): void => {
    const candidate = node as { type?: string; value?: unknown; start: number; end: number };
    if (candidate?.type !== "Literal" || typeof candidate.value !== "string") return;
    const specifier = candidate.value;
    if (!specifier.startsWith("./") && !specifier.startsWith("../")) return;
    if (!specifier.endsWith(".ts")) {
      throw new Error(`build: ${name} imports ${specifier}; name the .ts source file`);
    }
    sites.push({ specifier, start: candidate.start, end: candidate.end, thread });
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
      if (isModuleUrl) literal(node.arguments[0], true);
    },
  });
  return sites;
}

/** `from` and every module it reaches through `edges`. */
export function reachable(
  edges: ReadonlyMap<string, readonly string[]>,
  from: string,
): Set<string> {
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

function sortedByKey<T>(record: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : 1)));
}

export function toJs(relative: string): string {
  return relative.replace(/\.ts$/, ".js");
}

function toPosix(file: string): string {
  return file.split(path.sep).join("/");
}
