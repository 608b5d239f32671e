/**
 * Bundles one emitted thread entry of the worker build into a single file, in place, with
 * rolldown (a devDependency: the build runs where `npm ci` installed it). A worker thread
 * boots its own isolate and loads every module again: Capsule's service thread, as 16
 * modules and msgpack's 12, spent ~25 ms of each session's start resolving and compiling
 * them, on the path to READY, and ~1 MiB more. One file takes ~10 ms less and shares
 * nothing with the main thread that could split in two (no class checked with
 * `instanceof` across threads), which is why only such an entry is bundled.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

/** The rolldown command line (Capsule's own devDependency), or undefined where it is missing. */
function rolldownCli(): string | undefined {
  try {
    const manifest = createRequire(import.meta.url).resolve("rolldown/package.json");
    const cli = path.join(path.dirname(manifest), "bin", "cli.mjs");
    return fs.existsSync(cli) ? cli : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Replaces `file` (an emitted ES module) by the bundle of everything it imports but
 * Node's built-ins. Returns false, leaving the modules as they are (correct, only
 * slower to start), where rolldown is not installed; a failed bundle throws.
 */
export function bundleInPlace(root: string, file: string): boolean {
  const cli = rolldownCli();
  if (cli === undefined) return false;
  const output = `${file}.bundle.js`;
  execFileSync(
    process.execPath,
    [cli, file, "--file", output, "--format", "esm", "--platform", "node", "--logLevel", "warn"],
    { cwd: root, stdio: ["ignore", "ignore", "inherit"] },
  );
  fs.renameSync(output, file);
  return true;
}
