/**
 * Bundles an emitted entry of the worker build into one file, in place, with rolldown (a
 * devDependency: the build runs where `npm ci` installed it). Every module a thread
 * loads costs it a resolution, a read and a compile in Node's module loader: the service
 * thread (16 modules and msgpack's 12) spent ~25 ms of each session's start on them, on
 * the way to READY, and the main thread's runtime (~25 modules) ~20 ms of CPU. One file
 * each takes a fraction of that, and less memory.
 *
 * What must stay one instance per thread stays outside the bundle, as `external`: a
 * module that something else in the same thread loads by its path (the checkpoint codec
 * through `createRequire`, the builtin guard as `--require` of later threads), and every
 * module such a root reaches too, so that a class exists once and `instanceof` holds
 * (`CapsuleError` thrown by the codec, caught by the runtime).
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
 * argv[1] is a JSON job, the modules left outside are given by absolute path.
 */
const CHILD = `
const job = JSON.parse(process.argv[1]);
const { rolldown } = await import(job.rolldown);
const path = await import("node:path");
const external = new Set(job.external);
const bundle = await rolldown({
  input: job.input,
  platform: "node",
  logLevel: "warn",
  external: (id, importer) =>
    id.startsWith("node:") ||
    external.has(importer !== undefined && id.startsWith(".") ? path.resolve(path.dirname(importer), id) : id),
});
await bundle.write({ file: job.output, format: "esm", codeSplitting: false });
await bundle.close();
`;

/**
 * Replaces `file` (an emitted ES module) by the bundle of everything it imports but
 * Node's built-ins and `external` (absolute paths of emitted modules, which keep being
 * imported from where they are). Returns false, leaving the modules as they are
 * (correct, only slower to start), where rolldown is not installed; a failed bundle
 * throws.
 */
export function bundleInPlace(file: string, external: readonly string[] = []): boolean {
  const rolldown = rolldownModule();
  if (rolldown === undefined) return false;
  const output = `${file}.bundle.js`;
  const job = { rolldown: pathToFileURL(rolldown).href, input: file, output, external };
  execFileSync(process.execPath, ["--input-type=module", "-e", CHILD, JSON.stringify(job)], {
    stdio: ["ignore", "ignore", "inherit"],
  });
  fs.renameSync(output, file);
  return true;
}
