/**
 * The host build: a process that imports Capsule by its package name (`capsule`,
 * `capsule/durable`) runs the JavaScript bundles of src/dist, never Node's TypeScript
 * stripper, and a bundle whose sources changed refuses to load with HOST_BUILD_STALE.
 * Each test runs the output in a real Node process: the suite's own build (made by `npm
 * ci`, refreshed by test/global-setup.ts), or a build of a copy of the package.
 */
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildHost } from "../../src/build/host-build.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

/** Runs an ES module script in a child process at `cwd`, without Node's type stripper. */
function runModule(script: string, cwd: string, flags: string[] = []) {
  return spawnSync(
    process.execPath,
    ["--no-experimental-strip-types", ...flags, "--input-type=module", "-e", script],
    { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] },
  );
}

describe("the host build", () => {
  it("is what the package entries load, and it runs cells (a parse thread included)", () => {
    // A cell over 128 characters is prepared on a host parse thread: the thread's entry
    // must be found beside the bundle that starts it.
    const long = `const words = ${JSON.stringify("a b c d e f g h i j k l m n o p q r s t u v w x y z ".repeat(6))}.split(" ");\nwords.length`;
    const script = `
      const { Session } = await import("capsule");
      const { Capsule } = await import("capsule/durable");
      const session = new Session({ sandbox: "permissions-only" });
      await session.start();
      try {
        const short = await session.execute("1 + 1");
        const long = await session.execute(${JSON.stringify(long)});
        console.log(JSON.stringify({
          resolved: [import.meta.resolve("capsule"), import.meta.resolve("capsule/durable")],
          capsule: typeof Capsule.open,
          values: [short.value, long.value],
        }));
      } finally {
        await session.close();
      }
    `;
    const run = runModule(script, ROOT);
    expect(run.stderr).toBe("");
    const printed = JSON.parse(run.stdout) as {
      resolved: string[];
      capsule: string;
      values: unknown[];
    };
    expect(printed.resolved.map((url) => path.relative(ROOT, fileURLToPath(url)))).toEqual([
      path.join("src", "dist", "capsule.js"),
      path.join("src", "dist", "durable.js"),
    ]);
    expect(printed.capsule).toBe("function");
    expect(printed.values).toEqual([2, 157]);
  });

  it("is what the `capsule` launcher runs", () => {
    // Without Node's type stripper, the CLI's TypeScript sources could not load at all.
    const run = spawnSync(path.join(ROOT, "src", "cli", "capsule"), ["--help"], {
      cwd: ROOT,
      encoding: "utf8",
      env: { ...process.env, NODE_OPTIONS: "--no-experimental-strip-types" },
    });
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^Usage: capsule /);
  });

  it("gives way to the sources under the `capsule-source` condition", () => {
    const run = runModule('console.log(import.meta.resolve("capsule/durable"))', ROOT, [
      "--conditions=capsule-source",
    ]);
    expect(path.relative(ROOT, fileURLToPath(run.stdout.trim()))).toBe(
      path.join("durable", "index.ts"),
    );
  });
});

describe("a host build whose sources change", () => {
  let copy: string;

  beforeAll(() => {
    // A copy of the package's sources, with its dependencies linked, built on its own.
    copy = fs.mkdtempSync(path.join(os.tmpdir(), "capsule-host-build-"));
    const builds = [path.join(ROOT, "src", "dist"), path.join(ROOT, "workers", "dist")];
    for (const dir of ["src", "durable", "workers"]) {
      fs.cpSync(path.join(ROOT, dir), path.join(copy, dir), {
        recursive: true,
        filter: (from) => !builds.some((build) => from.startsWith(build)),
      });
    }
    fs.copyFileSync(path.join(ROOT, "package.json"), path.join(copy, "package.json"));
    fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(copy, "node_modules"));
    buildHost(copy);
  });

  afterAll(() => {
    fs.rmSync(copy, { recursive: true, force: true });
  });

  const importDurable = () =>
    runModule('const m = await import("capsule/durable"); console.log(typeof m.Capsule)', copy);

  it("loads while they are as built, also when only their times changed", () => {
    expect(importDurable().stdout.trim()).toBe("function");
    const file = path.join(copy, "durable", "context.ts");
    const later = new Date(Date.now() + 60_000);
    fs.utimesSync(file, later, later);
    expect(importDurable().stdout.trim()).toBe("function");
  });

  it("refuses to load with HOST_BUILD_STALE, naming the changed file, until rebuilt", () => {
    const file = path.join(copy, "durable", "context.ts");
    fs.appendFileSync(file, "\n// edited after the build\n");
    const run = importDurable();
    expect(run.status).not.toBe(0);
    expect(run.stdout).toBe("");
    expect(run.stderr).toContain("HostBuildError");
    expect(run.stderr).toContain("HOST_BUILD_STALE");
    expect(run.stderr).toContain("durable/context.ts changed since the build");
    buildHost(copy);
    expect(importDurable().stdout.trim()).toBe("function");
    // `npm run build -- --if-stale` (the copy's) leaves it alone now.
    const checked = execFileSync(
      process.execPath,
      [path.join(copy, "src", "build", "build.ts"), "--if-stale"],
      { cwd: copy, encoding: "utf8" },
    );
    expect(checked).toContain(`host build: ${path.join("src", "dist")} is up to date`);
  });
});
