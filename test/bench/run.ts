/**
 * Runs every `*.bench.ts` in this directory, in name order, one after the other. Each
 * bench file default-exports an async function that measures and prints its tables.
 * `node test/bench/run.ts protocol` runs only the files whose name contains `protocol`.
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const directory = import.meta.dirname;
const filters = process.argv.slice(2);
const files = readdirSync(directory)
  .filter((file) => file.endsWith(".bench.ts"))
  .filter((file) => filters.length === 0 || filters.some((filter) => file.includes(filter)))
  .sort();

if (files.length === 0) {
  console.error(`no bench files in ${directory} match ${filters.join(", ") || "*.bench.ts"}`);
  process.exitCode = 1;
}

console.log(`node ${process.version}, ${process.platform}/${process.arch}`);
for (const file of files) {
  console.log(`\n=== ${file}`);
  const module: { default?: unknown } = await import(pathToFileURL(join(directory, file)).href);
  if (typeof module.default !== "function") {
    throw new Error(`${file} must default-export the function that runs it`);
  }
  await module.default();
}
