/**
 * The README's code excerpts must be copied from files that run in CI: each fenced block
 * marked `<!-- excerpt: path -->` has to appear, verbatim, in that file.
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const README = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
const EXCERPT = /<!-- excerpt: (\S+) -->\n```\w*\n([\s\S]*?)```/g;

const excerpts = [...README.matchAll(EXCERPT)].map((match) => ({
  file: match[1]!,
  code: match[2]!,
}));

describe("README", () => {
  it("has excerpts to check", () => {
    expect(excerpts.length).toBeGreaterThan(0);
  });

  for (const [index, { file, code }] of excerpts.entries()) {
    it(`excerpt ${index + 1} is copied from ${file}`, () => {
      const source = fs.readFileSync(path.join(ROOT, file), "utf8");
      expect(source).toContain(code);
    });
  }
});
