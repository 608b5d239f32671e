// `capsule exec` through the sh launcher: results, JSON, exit codes, stdin, input(),
// and a durable session continued by a second process.
import { afterEach, describe, expect, it } from "vitest";
import { cleanup, LAUNCHER, run, start, tempDir } from "./cli-process.ts";

afterEach(cleanup);

describe("capsule exec", () => {
  it("runs a throwaway cell, streams its output and prints its result", async () => {
    const done = await run(["exec", 'console.log("working"); [1, 2, 3].map((n) => n * 2)']);
    expect(done.stderr).toBe("");
    expect(done.stdout).toBe("working\n[ 2, 4, 6 ]\n");
    expect(done.code).toBe(0);
  });

  it("prints each display() as its text on a line of its own", async () => {
    const done = await run([
      "exec",
      'display("a"); display({ "text/plain": "b" }, { raw: true }); 1',
    ]);
    expect(done).toMatchObject({ code: 0, stdout: "'a'\nb\n1\n", stderr: "" });
  });

  it("continues a durable session in a new process: let x = 41, then x + 1 prints 42", async () => {
    const dir = tempDir();
    const first = await run(["exec", "--dir", dir, "-s", "demo", "let x = 41"]);
    expect(first).toMatchObject({ code: 0, stdout: "", stderr: "" });
    const second = await run(["exec", "--dir", dir, "-s", "demo", "x + 1"]);
    expect(second).toMatchObject({ code: 0, stdout: "42\n", stderr: "" });
  });

  it("takes the store directory from CAPSULE_DIR", async () => {
    const dir = tempDir();
    await run(["exec", "-s", "env", "const y = 'from env'"], { env: { CAPSULE_DIR: dir } });
    const read = await run(["exec", "-s", "env", "y"], { env: { CAPSULE_DIR: dir } });
    expect(read, read.stderr).toMatchObject({ code: 0, stdout: "'from env'\n" });
  });

  it("reads the cell from stdin with -", async () => {
    const done = await run(["exec", "-"], { input: "const a = 20\nconst b = 22\na + b\n" });
    expect(done).toMatchObject({ code: 0, stdout: "42\n" });
  });

  it("prints the result as JSON with --json", async () => {
    const done = await run(["exec", "--json", 'console.log("out"); ({ sum: 1 + 2 })']);
    expect(done.code).toBe(0);
    const json = JSON.parse(done.stdout) as Record<string, unknown>;
    expect(json).toMatchObject({
      ok: true,
      value: { sum: 3 },
      hasValue: true,
      mode: "simple_sync",
      output: [{ stream: "stdout", data: "out\n" }],
    });
  });

  it("answers input() from the next stdin line", async () => {
    const done = await run(["exec", 'const name = input("name? "); "hello " + name'], {
      input: "Ada\n",
    });
    expect(done).toMatchObject({ code: 0, stdout: "name? \n'hello Ada'\n" });
  });

  it("exits 1 with one line on stderr when the code throws", async () => {
    const done = await run(["exec", 'throw new TypeError("bad input")']);
    expect(done.code).toBe(1);
    expect(done.stderr).toBe("capsule: TypeError: bad input (line 1, column 7)\n");
  });

  it("prints the user's stack with --verbose", async () => {
    const done = await run(["exec", "--verbose", "function f() { throw new Error('deep') }\nf()"]);
    expect(done.code).toBe(1);
    expect(done.stderr.split("\n").length).toBeGreaterThan(2);
    expect(done.stderr).toContain("Error: deep");
  });

  it("exits 1 on a syntax error, with the line and column, and as JSON", async () => {
    const done = await run(["exec", "--json", "const x = )"]);
    expect(done.code).toBe(1);
    const json = JSON.parse(done.stdout) as { ok: boolean; error: Record<string, unknown> };
    expect(json.ok).toBe(false);
    expect(json.error).toMatchObject({
      code: "EXECUTION_SYNTAX_ERROR",
      errorName: "SyntaxError",
      line: 1,
      column: 11,
    });
    expect(done.stderr.trim().split("\n")).toHaveLength(1);
  });

  it("exits 4 when the cell runs past --timeout", async () => {
    const done = await run(["exec", "--timeout", "300", "while (true) {}"]);
    expect(done.code).toBe(4);
    expect(done.stderr).toMatch(/^capsule: .*timed out.*\n$/);
  });

  it("cancels the running cell on SIGINT (Ctrl-C) and exits 130", async () => {
    const cli = start(["exec", "console.log('ready'); while (true) {}"]);
    await cli.waitFor("ready\n");
    cli.child.kill("SIGINT");
    const done = await cli.exited;
    expect(done.code).toBe(130);
    expect(done.stderr).toMatch(/^capsule: .*cancelled.*\n$/);
  });

  it("shows a spinner on a terminal and cancels on Ctrl-C there", async () => {
    const cell =
      'console.log("started"); await new Promise((resolve) => setTimeout(resolve, 120_000))';
    const tty = start(
      ["-q", "-e", "-c", `'${LAUNCHER}' exec --timeout 200000 '${cell}'`, "/dev/null"],
      { command: "script", env: { TERM: "xterm" } },
    );
    // Ctrl-C once the cell runs (the terminal signals the worker process too).
    await tty.waitFor(/started\r?\n[\s\S]*running \d+\.\ds/);
    tty.write("\u0003");
    const done = await tty.exited;
    expect(done.code).toBe(130);
    expect(done.stdout).toMatch(/capsule: .*cancelled/);
  });

  it("exits 2 on usage errors", async () => {
    const missing = await run(["exec"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("missing required argument 'code'");
    const unknown = await run(["frobnicate"]);
    expect(unknown.code).toBe(2);
    const badTimeout = await run(["exec", "--timeout", "soon", "1"]);
    expect(badTimeout.code).toBe(2);
    const badName = await run(["exec", "--dir", tempDir(), "-s", "no spaces", "1"]);
    expect(badName.code).toBe(2);
    expect(badName.stderr).toMatch(/^capsule: session name "no spaces" must be .*\n$/);
    const empty = await run(["exec", "-"], { input: "  \n" });
    expect(empty.code).toBe(2);
  });
});
