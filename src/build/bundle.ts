/**
 * Bundles emitted modules with rolldown (a devDependency: the builds run where `npm ci`
 * installed it). Every module a thread loads costs it a resolution, a read and a compile
 * in Node's module loader: the worker's service thread (16 modules and msgpack's 12)
 * spent ~25 ms of each session's start on them, the worker's main thread (~25 modules)
 * ~20 ms of CPU, and a process importing `capsule/durable` (~200 files, zod's included)
 * most of its ~320 ms. One file each takes a fraction of that, and less memory.
 *
 * The worker build bundles each thread's entry in place (`bundleInPlace`). What must stay
 * one instance per thread stays outside such a bundle, as `external`: a module that
 * something else in the same thread loads by its path (the checkpoint codec through
 * `createRequire`, the builtin guard as `--require` of later threads), and every module
 * such a root reaches too, so that a class exists once and `instanceof` holds
 * (`CapsuleError` thrown by the codec, caught by the runtime). The host build bundles its
 * package entries together (`bundleEntries`), sharing chunks for the same reason.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";

/** rolldown's module (Capsule's own devDependency), or undefined where it is missing. */
function rolldownModule(): string | undefined {
  try {
    return createRequire(import.meta.url).resolve("rolldown");
  } catch {
    return undefined;
  }
}

/**
 * Run in a child process, so that the build stays synchronous (rolldown's API is not):
 * argv[1] is a JSON job. Modules left outside are given by absolute path (`external`) or
 * by package name (`externalPackages`: native addons, which cannot be bundled).
 */
const CHILD = `
const job = JSON.parse(process.argv[1]);
const { rolldown } = await import(job.rolldown);
const path = await import("node:path");
const external = new Set(job.external);
const packages = new Set(job.externalPackages);
const bundle = await rolldown({
  input: job.input,
  platform: "node",
  logLevel: "warn",
  resolve: { mainFields: ["module", "main"] },
  external: (id, importer) =>
    id.startsWith("node:") ||
    packages.has(id) ||
    external.has(importer !== undefined && id.startsWith(".") ? path.resolve(path.dirname(importer), id) : id),
});
await bundle.write(
  job.output === undefined
    ? { dir: job.dir, format: "esm", entryFileNames: "[name].js", chunkFileNames: "[name]-[hash].js" }
    : { file: job.output, format: job.format, codeSplitting: false },
);
await bundle.close();
`;

interface BundleJob {
  input: string | Record<string, string>;
  /** One output file (`input` is one entry), or else `dir` gets an entry file per input. */
  output?: string;
  dir?: string;
  external?: readonly string[];
  externalPackages?: readonly string[];
  /** Of the one output file (`dir` output is always ES modules). */
  format?: BundleFormat;
}

/** ES modules, or CommonJS for a thread entry that imports only Node's built-ins. */
export type BundleFormat = "esm" | "cjs";

function runRolldown(rolldown: string, job: BundleJob): void {
  const full = {
    external: [],
    externalPackages: [],
    format: "esm",
    ...job,
    rolldown: pathToFileURL(rolldown).href,
  };
  execFileSync(process.execPath, ["--input-type=module", "-e", CHILD, JSON.stringify(full)], {
    stdio: ["ignore", "ignore", "inherit"],
  });
}

/**
 * Replaces `file` (an emitted ES module) by the bundle of everything it imports but
 * Node's built-ins and `external` (absolute paths of emitted modules, which keep being
 * imported from where they are). As `cjs`, the bundle is CommonJS and named
 * `<file without .js>.cjs` instead (`file` is removed). Returns the bundle's path, or
 * undefined, leaving the modules as they are (correct, only slower to start), where
 * rolldown is not installed; a failed bundle throws.
 */
export function bundleInPlace(
  file: string,
  external: readonly string[] = [],
  format: BundleFormat = "esm",
): string | undefined {
  const rolldown = rolldownModule();
  if (rolldown === undefined) return undefined;
  const output = `${file}.bundle.js`;
  runRolldown(rolldown, { input: file, output, external, format });
  const bundle = format === "cjs" ? file.replace(/\.js$/, ".cjs") : file;
  fs.renameSync(output, bundle);
  if (bundle !== file) fs.rmSync(file);
  return bundle;
}

/**
 * Bundles several entries (name → emitted module) into `dir`, one `<name>.js` each, with
 * what they share in chunks beside them, so that a class exists once however many of the
 * entries a process loads. Everything is inside but Node's built-ins and
 * `externalPackages`. Returns false where rolldown is not installed.
 */
export function bundleEntries(
  entries: Record<string, string>,
  dir: string,
  externalPackages: readonly string[],
): boolean {
  const rolldown = rolldownModule();
  if (rolldown === undefined) return false;
  runRolldown(rolldown, { input: entries, dir, externalPackages });
  return true;
}
