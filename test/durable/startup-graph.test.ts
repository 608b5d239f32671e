// What a restarted orchestrator loads before it can replay: the host's start-up graph
// (durable/index.ts) must not contain the cell parser (src/prepare's parser, acorn), which
// a replayed cell never uses; the first cell that runs loads it (session.ts
// loadCellPreparation) while its worker starts. A static import of the parser anywhere on
// the start-up path fails this test.
import { execFileSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const FIXTURE = path.join(ROOT, "test", "durable", "fixtures", "loaded-modules.ts");

function loadedBy(entry: string): string[] {
  const out = execFileSync(process.execPath, [FIXTURE, path.join(ROOT, entry)], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
  return JSON.parse(out) as string[];
}

const PARSER = [
  /\/node_modules\/acorn\//,
  /\/node_modules\/acorn-walk\//,
  /\/src\/prepare\/(index|parse|rewrite|scope|off-loop|parse-thread)\.ts$/,
];

describe("the host's start-up graph", () => {
  it("has no cell parser: durable/index.ts loads neither acorn nor src/prepare's parser", () => {
    const loaded = loadedBy("durable/index.ts");
    // The probe works: the graph was recorded (the SDK and the store are in it).
    expect(loaded.some((url) => url.endsWith("/durable/store/index.ts"))).toBe(true);
    expect(loaded.filter((url) => PARSER.some((pattern) => pattern.test(url)))).toEqual([]);
  });
});
