// The `capsule` sh launcher: works through a symlink (as npm's .bin links it), runs the
// project's Node 26 whatever node is first on PATH, and every command documents its
// options and exit codes in --help.
import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { cleanup, LAUNCHER, run, start, tempDir } from "./cli-process.ts";

afterEach(cleanup);

describe("the capsule launcher", () => {
  it("runs through a symlink on the project's Node 26", async () => {
    const bin = path.join(tempDir(), ".bin");
    fs.mkdirSync(bin);
    const link = path.join(bin, "capsule");
    fs.symlinkSync(path.relative(bin, LAUNCHER), link);
    // A PATH without the project's node: the launcher must find it by itself.
    const done = await run(["exec", "process.versions.node.split('.')[0]"], {
      command: link,
      env: { PATH: "/usr/bin:/bin" },
    });
    expect(done.stderr).toBe("");
    expect(done.stdout).toBe("'26'\n");
    expect(done.code).toBe(0);
  });

  it("documents every command and the exit codes in --help", async () => {
    const top = await run(["--help"]);
    expect(top.code).toBe(0);
    for (const command of ["exec", "repl", "ls", "show", "tree"]) {
      expect(top.stdout).toContain(command);
      const help = await run([command, "--help"]);
      expect(help.code).toBe(0);
      expect(help.stdout).toContain(`Usage: capsule ${command}`);
      expect(help.stdout).toContain("--dir <path>");
      expect(help.stdout).toMatch(/Exit codes:\n\s+0\s+success\n\s+1\s+the code failed/);
    }
  });

  it("ends quietly with 141 when its reader closes stdout early (`capsule … | head`)", async () => {
    // Far more than a pipe holds: a write after the reader is gone must fail, at any timing.
    const cli = start(["exec", "for (let i = 0; i < 100000; i++) console.log(i)"], {
      env: { CAPSULE_DIR: tempDir() },
    });
    cli.child.stdout?.destroy();
    const done = await cli.exited;
    expect(done.stderr).toBe("");
    expect(done.code).toBe(141);
  });
});
