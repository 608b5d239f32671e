/**
 * Builds Capsule's package entries for the processes that import them (`capsule` is
 * src/index.ts, `capsule/durable` is durable/index.ts), and the CLI that the `capsule`
 * launcher runs (src/cli/main.ts), as JavaScript bundles. From the
 * sources, Node strips the types of, resolves and compiles some 200 files and their
 * dependencies' (zod alone is ~100) before a process's first line: importing
 * `capsule/durable` took ~320 ms, most of a restart after a crash, against ~50 ms for
 * the bundle.
 *
 * The build (see tree-build.ts) lives in an immutable src/dist/<id>; the files the
 * package's `exports` and the launcher name, src/dist/capsule.js, durable.js and cli.js,
 * are small entries rewritten by each build that import host-fresh.ts first (which
 * refuses a build whose sources changed) and then the bundle. Node's `capsule-source` condition
 * (`node --conditions=capsule-source`) loads the sources instead, and so do Capsule's own
 * tests and examples, which import the sources by path.
 */
import fs from "node:fs";
import path from "node:path";
import { bundleEntries } from "./bundle.ts";
import {
  BUILD_MACHINERY,
  type BuildReport,
  buildTree,
  replaceFile,
  type StagedTree,
  toJs,
} from "./tree-build.ts";

/** Where host builds live, relative to the package root. */
export const HOST_BUILD_DIR = path.join("src", "dist");
/**
 * Entry name → its source; src/dist/<name>.js is what `exports` names (and `cli`, what
 * the `capsule` launcher runs).
 */
export const HOST_ENTRIES: Readonly<Record<string, string>> = {
  capsule: "src/index.ts",
  durable: "durable/index.ts",
  cli: "src/cli/main.ts",
};
/** Run before each entry's bundle; see host-fresh.ts. */
const FRESHNESS_CHECK = "src/build/host-fresh.ts";
/** Native addons, loaded from node_modules where they are: a bundle cannot hold them. */
const NATIVE_PACKAGES = ["zeromq"];
const BUILDER_SOURCES = ["src/build/host-build.ts", ...BUILD_MACHINERY];

/** Emits the host build, makes it current and points the package's entries at it. */
export function buildHost(root: string, distDir = path.join(root, HOST_BUILD_DIR)): BuildReport {
  const report = buildTree({
    root,
    distDir,
    entries: [...Object.values(HOST_ENTRIES), FRESHNESS_CHECK],
    extraSources: BUILDER_SOURCES,
    finish: bundleStaged,
  });
  // A reused build says nothing of its layout: its files do.
  const bundled = fs.existsSync(path.join(report.buildDir, "fresh.js"));
  const id = path.basename(report.buildDir);
  for (const [name, source] of Object.entries(HOST_ENTRIES)) {
    const check = bundled ? "fresh.js" : toJs(FRESHNESS_CHECK);
    const module = bundled ? `${name}.js` : toJs(source);
    replaceFile(
      path.join(distDir, `${name}.js`),
      `// Capsule's host build ${id} (src/build/host-build.ts); \`npm run build\` rewrites this file.\n` +
        `import "./${id}/${check}";\nexport * from "./${id}/${module}";\n`,
    );
  }
  return report;
}

/**
 * Replaces the staged modules by one bundle per entry, plus one per thread entry a module
 * names with `new URL("./x.ts", import.meta.url)`: that URL, resolved from the chunk the
 * module lands in (at the build's top), must find the thread's bundle there, so a thread
 * entry must sit beside the module naming it and have a name of its own. Where rolldown
 * is missing, the per-file modules stay (correct, only slower to load).
 */
function bundleStaged({ dir, threadEntries }: StagedTree): Record<string, boolean> {
  const inputs: Record<string, string> = { fresh: path.join(dir, toJs(FRESHNESS_CHECK)) };
  for (const [name, source] of Object.entries(HOST_ENTRIES)) {
    inputs[name] = path.join(dir, toJs(source));
  }
  for (const [module, threads] of threadEntries) {
    for (const thread of threads) {
      const name = path.posix.basename(thread, ".ts");
      if (path.posix.dirname(thread) !== path.posix.dirname(module)) {
        throw new Error(
          `host build: ${module} names a thread entry outside its directory: ${thread}`,
        );
      }
      const known = inputs[name];
      if (known !== undefined && known !== path.join(dir, toJs(thread))) {
        throw new Error(`host build: two entries are named ${name}`);
      }
      inputs[name] = path.join(dir, toJs(thread));
    }
  }
  const out = path.join(dir, ".bundle");
  const bundled = bundleEntries(inputs, out, NATIVE_PACKAGES);
  if (bundled) {
    for (const entry of fs.readdirSync(dir)) {
      if (entry !== ".bundle") fs.rmSync(path.join(dir, entry), { recursive: true, force: true });
    }
    for (const entry of fs.readdirSync(out)) {
      fs.renameSync(path.join(out, entry), path.join(dir, entry));
    }
    fs.rmdirSync(out);
  }
  return Object.fromEntries(Object.keys(HOST_ENTRIES).map((name) => [name, bundled]));
}
