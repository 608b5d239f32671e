// `capsule repl` has the habits of Node's REPL: dot commands, `_`, and on a terminal
// (util-linux `script` gives it a pseudo-terminal) Tab completion from the live
// namespace, per-session history that outlives the process, and `.editor`.
import fs from "node:fs";
import path from "node:path";
import { stripVTControlCharacters } from "node:util";
import { afterEach, describe, expect, it, onTestFailed } from "vitest";
import { cleanup, LAUNCHER, type LiveCli, run, start, tempDir } from "./cli-process.ts";

afterEach(cleanup);

function shellQuote(text: string): string {
  return `'${text.replaceAll("'", "'\\''")}'`;
}

/**
 * The REPL on a pseudo-terminal. Not TERM=dumb: on a dumb terminal Node's readline has
 * neither Tab completion nor history keys. So the screen has cursor escapes, and tests
 * wait on the text with them removed.
 */
function terminal(dir: string, session: string): LiveCli {
  const command = `${shellQuote(LAUNCHER)} repl --dir ${shellQuote(dir)} -s ${session}`;
  return start(["-q", "-e", "-c", command, "/dev/null"], {
    command: "script",
    env: { TERM: "xterm", NO_COLOR: "1" },
  });
}

/** Resolves when the screen (from `from` on, escapes removed) matches. */
function seen(cli: LiveCli, pattern: string | RegExp, from = 0): Promise<void> {
  const matches = () => {
    const screen = stripVTControlCharacters(cli.stdout().slice(from));
    return typeof pattern === "string" ? screen.includes(pattern) : pattern.test(screen);
  };
  if (matches()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onData = () => {
      if (!matches()) return;
      cli.child.stdout?.off("data", onData);
      resolve();
    };
    // Registered after start()'s own listener, so stdout() already holds the chunk.
    cli.child.stdout?.on("data", onData);
    void cli.exited.then(() =>
      reject(
        new Error(`exited before ${String(pattern)}: ${stripVTControlCharacters(cli.stdout())}`),
      ),
    );
  });
}

describe("capsule repl habits with piped stdin", () => {
  it("runs .help, .load, .save, .editor, .break and tells commands from numbers", async () => {
    const dir = tempDir();
    const loaded = path.join(dir, "lib.ts");
    fs.writeFileSync(loaded, "function square(n: number) {\n  return n * n\n}\nconst base = 3\n");
    const saved = path.join(dir, "saved.ts");
    const input = [
      ".help",
      `.load ${loaded}`,
      "square(base)",
      "_ + 1",
      ".5 + 1",
      ".nope",
      "const open = [1,",
      ".break",
      "typeof open",
      `.save ${saved}`,
      ".editor",
      "const fromEditor = square(4)",
      "fromEditor + 1",
    ].join("\n");
    const done = await run(["repl", "--dir", dir, "-s", "habits"], { input });
    expect(done.code).toBe(0);
    expect(done.stdout).toContain(".load     Run a file as one cell");
    expect(done.stdout).toContain("> 9\n> 10\n> 1.5\n");
    expect(done.stderr).toContain("Invalid REPL keyword .nope");
    expect(done.stdout).toContain("> 'undefined'\n");
    expect(done.stdout).toContain(`Session saved to: ${saved}`);
    expect(fs.readFileSync(saved, "utf8")).toBe(
      `${fs.readFileSync(loaded, "utf8")}\n\nsquare(base)\n\n_ + 1\n\n.5 + 1\n\ntypeof open\n`,
    );
    expect(done.stdout).toContain("// Entering editor mode");
    expect(done.stdout).toMatch(/17\n$/);
  });

  it(".exit leaves at once, leaving the rest of the input unread", async () => {
    const dir = tempDir();
    const done = await run(["repl", "--dir", dir, "-s", "leaving"], {
      input: "1 + 1\n.exit\n2 + 2\n",
    });
    expect(done.code).toBe(0);
    expect(done.stdout).toContain("> 2\n");
    expect(done.stdout).not.toContain("4");
  });
});

describe("capsule repl habits on a terminal", () => {
  it("completes names and properties from the live namespace on Tab", async () => {
    const dir = tempDir();
    const tty = terminal(dir, "tab");
    onTestFailed(() => console.log("SCREEN", JSON.stringify(tty.stdout()), tty.stderr()));
    await seen(tty, "> ");
    let mark = tty.stdout().length;
    tty.write("const inventoryOfFruit = { pears: 4, plums: 6 }\r");
    await seen(tty, /\n> $/, mark);
    mark = tty.stdout().length;
    // "invent" + Tab completes the only match; ".pe" + Tab the only property.
    tty.write("invent\t");
    await seen(tty, "inventoryOfFruit", mark);
    tty.write(".pe\t");
    await seen(tty, "pears", mark);
    tty.write(" * 10\r");
    await seen(tty, /^40\r?$/m, mark);
    await seen(tty, "> ", mark);
    tty.write("\u0004");
    expect((await tty.exited).code).toBe(0);
  });

  it("keeps each session's history across processes (up arrow, Ctrl-R)", async () => {
    const dir = tempDir();
    const first = terminal(dir, "remember");
    await seen(first, "> ");
    let mark = first.stdout().length;
    first.write("const remembered = 41\r");
    await seen(first, /\n> $/, mark);
    mark = first.stdout().length;
    first.write("remembered * 2\r");
    await seen(first, /^82\r?$/m, mark);
    await seen(first, "> ", mark);
    mark = first.stdout().length;
    first.write("remembered + 1\r");
    await seen(first, /^42\r?$/m, mark);
    await seen(first, "> ", mark);
    first.write("\u0004");
    expect((await first.exited).code).toBe(0);
    expect(fs.readFileSync(path.join(dir, "repl-history", "remember"), "utf8")).toBe(
      "remembered + 1\nremembered * 2\nconst remembered = 41\n",
    );

    const second = terminal(dir, "remember");
    await seen(second, "namespace is restored");
    await seen(second, "> ");
    mark = second.stdout().length;
    second.write("\u001b[A");
    await seen(second, "remembered + 1", mark);
    second.write("\r");
    await seen(second, /^42\r?$/m, mark);
    await seen(second, "> ", mark);
    // Ctrl-R puts the newest line containing what is typed; again, the next older one.
    mark = second.stdout().length;
    second.write("remembered\u0012\u0012");
    await seen(second, "remembered * 2", mark);
    second.write("\r");
    await seen(second, /^82\r?$/m, mark);
    await seen(second, "> ", mark);
    second.write("\u0004");
    expect((await second.exited).code).toBe(0);
  });

  it(".editor takes a multi-line cell, ended by Ctrl-D, and the REPL goes on", async () => {
    const dir = tempDir();
    const tty = terminal(dir, "editor");
    await seen(tty, "> ");
    let mark = tty.stdout().length;
    tty.write(".editor\r");
    await seen(tty, "Entering editor mode", mark);
    tty.write("const edited = [1, 2, 3]\r");
    tty.write("edited.map((n) => n * 2)\r");
    tty.write("\u0004");
    await seen(tty, "[ 2, 4, 6 ]", mark);
    await seen(tty, "> ", mark);
    mark = tty.stdout().length;
    tty.write("edited.length\r");
    await seen(tty, /^3\r?$/m, mark);
    await seen(tty, "> ", mark);
    tty.write("\u0004");
    expect((await tty.exited).code).toBe(0);
  });
});
