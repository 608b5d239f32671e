// `capsule repl` through the sh launcher: piped stdin (multi-line cells, input(), errors,
// EOF), a real kill -9 and restart with the namespace back, and a pseudo-terminal
// (util-linux `script`) for Ctrl-C cancelling a running cell while the state is kept.
import { afterEach, describe, expect, it } from "vitest";
import { cleanup, LAUNCHER, run, start, tempDir } from "./cli-process.ts";

afterEach(cleanup);

function shellQuote(text: string): string {
  return `'${text.replaceAll("'", "'\\''")}'`;
}

describe("capsule repl with piped stdin", () => {
  it("runs multi-line cells, answers input() from the next line, reports errors, exits 0 at EOF", async () => {
    const dir = tempDir();
    const input = [
      "const items = [",
      "  { name: 'a', price: 2 },",
      "  { name: 'b', price: 40 },",
      "]",
      "items.reduce((sum, item) => sum + item.price, 0)",
      "const who = input('who? ')",
      "Ada",
      "'hello ' + who",
      "missing + 1",
      "const broken = )",
      "function twice(n) {",
      "  return n * 2",
      "}",
      "twice(21)",
      "",
    ].join("\n");
    const done = await run(["repl", "--dir", dir, "-s", "piped"], { input });
    expect(done.code).toBe(0);
    expect(done.stdout).toContain("capsule repl — session piped (new session)");
    // One "> " per cell, "... " per continued line; results in order.
    expect(done.stdout).toContain("> ... ... ... > 42\n");
    expect(done.stdout).toContain("> who? \n> 'hello Ada'\n");
    expect(done.stdout).toContain("> ... ... > 42\n");
    expect(done.stderr).toBe(
      "ReferenceError: missing is not defined (line 1, column 1)\n" +
        "SyntaxError: Unexpected token (line 1, column 16)\n",
    );
    // The broken cell never reached the store; the others are recorded in order.
    const shown = await run(["show", "--dir", dir, "piped", "--json"]);
    const view = JSON.parse(shown.stdout) as { cells: { code: string; state: string }[] };
    expect(view.cells.map((cell) => cell.code)).toEqual([
      "const items = [\n  { name: 'a', price: 2 },\n  { name: 'b', price: 40 },\n]",
      "items.reduce((sum, item) => sum + item.price, 0)",
      "const who = input('who? ')",
      "'hello ' + who",
      "missing + 1",
      "function twice(n) {\n  return n * 2\n}",
      "twice(21)",
    ]);
  });

  it("prints a display() as its text, on a line of its own; a clear prints nothing", async () => {
    const dir = tempDir();
    const input =
      'display("a"); display({ "text/html": "<b>x</b>", "text/plain": "x" }, { raw: true }); display.clear(); 7\n';
    const done = await run(["repl", "--dir", dir, "-s", "shows"], { input });
    expect(done.code, done.stderr).toBe(0);
    expect(done.stdout).toContain("> 'a'\nx\n7\n");
  });

  it("brings the namespace back after kill -9 when started again with the same name", async () => {
    const dir = tempDir();
    const repl = start(["repl", "--dir", dir, "-s", "survivor"]);
    await repl.waitFor("> ");
    let mark = repl.stdout().length;
    repl.write("const saved = { n: 7, tags: new Set(['x']) }\n");
    await repl.waitFor("> ", mark);
    mark = repl.stdout().length;
    repl.write("saved.n * 6\n");
    await repl.waitFor("42\n> ", mark);
    repl.child.kill("SIGKILL");
    const killed = await repl.exited;
    expect(killed.signal).toBe("SIGKILL");

    const again = await run(["repl", "--dir", dir, "-s", "survivor"], {
      input: "saved.n + 1\nsaved.tags.has('x')\n",
    });
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("(2 cells recorded; the namespace is restored)");
    expect(again.stdout).toContain("> 8\n> true\n");
  });
});

describe("capsule repl on a terminal", () => {
  it("cancels a running cell on Ctrl-C, keeps the namespace, and leaves on Ctrl-D", async () => {
    const dir = tempDir();
    const command = `${shellQuote(LAUNCHER)} repl --dir ${shellQuote(dir)} -s tty`;
    const tty = start(["-q", "-e", "-c", command, "/dev/null"], {
      command: "script",
      env: { TERM: "dumb" },
    });
    await tty.waitFor("> ");
    let mark = tty.stdout().length;
    tty.write("let kept = 'still here'\r");
    await tty.waitFor(/\n> $/, mark);
    mark = tty.stdout().length;
    tty.write("console.log('spinning'); while (true) {}\r");
    // The cell's own output line (the echoed input line starts with the prompt).
    await tty.waitFor(/^spinning\r?$/m, mark);
    mark = tty.stdout().length;
    tty.write("\u0003");
    await tty.waitFor("cancelled; the namespace is kept", mark);
    await tty.waitFor("> ", mark);
    mark = tty.stdout().length;
    tty.write("kept\r");
    await tty.waitFor("'still here'", mark);
    await tty.waitFor("> ", mark);
    tty.write("\u0004");
    const done = await tty.exited;
    expect(done.code).toBe(0);
  });

  it("clears unfinished input on Ctrl-C, and leaves on a second Ctrl-C at an empty prompt", async () => {
    const dir = tempDir();
    const command = `${shellQuote(LAUNCHER)} repl --dir ${shellQuote(dir)} -s leave`;
    const tty = start(["-q", "-e", "-c", command, "/dev/null"], {
      command: "script",
      env: { TERM: "dumb" },
    });
    await tty.waitFor("> ");
    let mark = tty.stdout().length;
    tty.write("const pending = [1,\r");
    await tty.waitFor("... ", mark);
    mark = tty.stdout().length;
    tty.write("\u0003");
    await tty.waitFor("> ", mark);
    mark = tty.stdout().length;
    // The cleared buffer is gone: this line is a cell of its own.
    tty.write("typeof pending\r");
    await tty.waitFor("'undefined'", mark);
    mark = tty.stdout().length;
    tty.write("\u0003");
    await tty.waitFor("(To leave, press Ctrl-C again or Ctrl-D)", mark);
    tty.write("\u0003");
    const done = await tty.exited;
    expect(done.code).toBe(0);
  });
});
