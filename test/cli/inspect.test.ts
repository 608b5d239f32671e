// `capsule ls`, `show` and `tree` through the sh launcher, human and --json, on a store
// holding one durable execution and one named session; unknown ids and a locked store.
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cleanup, LAUNCHER, ROOT, run, start, tempDir } from "./cli-process.ts";

const SEED = path.join(ROOT, "test", "cli", "fixtures", "seed-store.ts");
let dir = "";

beforeAll(async () => {
  dir = tempDir();
  const seeded = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
    const child = spawn(process.execPath, [SEED, dir], { stdio: ["ignore", "pipe", "inherit"] });
    let stdout = "";
    child.stdout.setEncoding("utf8").on("data", (text: string) => {
      stdout += text;
    });
    child.on("close", (code) => resolve({ code, stdout }));
  });
  expect(seeded).toEqual({ code: 0, stdout: '{"value":42}\n' });
  const cell = await run(["exec", "--dir", dir, "-s", "notes", 'console.log("noted"); 6 * 7']);
  expect(cell.code).toBe(0);
});

afterAll(cleanup);

describe("capsule ls", () => {
  it("lists executions and named sessions", async () => {
    const done = await run(["ls", "--dir", dir]);
    expect(done.code).toBe(0);
    expect(done.stdout).toMatch(
      /executions:\n\s+ID\s+FUNCTION\s+STATE\s+CREATED\n\s+job-1\s+pipeline\s+resolved/,
    );
    expect(done.stdout).toMatch(
      /sessions:\n\s+NAME\s+CELLS\s+LAST CELL\s+UPDATED\n\s+notes\s+1\s+resolved/,
    );
    expect(done.stdout).not.toContain("\u001b[");
  });

  it("prints JSON with --json", async () => {
    const done = await run(["ls", "--dir", dir, "--json"]);
    expect(done.code).toBe(0);
    const listing = JSON.parse(done.stdout) as { executions: unknown[]; sessions: unknown[] };
    expect(listing.executions).toEqual([
      expect.objectContaining({ id: "job-1", func: "pipeline", state: "resolved" }),
    ]);
    expect(listing.sessions).toEqual([
      expect.objectContaining({ name: "notes", cells: 1, state: "resolved" }),
    ]);
  });
});

describe("capsule show", () => {
  it("shows an execution's cells, output and results in order, and its value", async () => {
    const done = await run(["show", "--dir", dir, "job-1"]);
    expect(done.code).toBe(0);
    const out = done.stdout;
    expect(out).toMatch(/^job-1 \(execution\) resolved/);
    const first = out.indexOf("in | const base = 21");
    const loaded = out.indexOf("out| loaded 21");
    const second = out.indexOf("in | base * 2");
    const result = out.indexOf("=>  42");
    expect([first, loaded, second, result].every((at) => at > 0)).toBe(true);
    expect(first < loaded && loaded < second && second < result).toBe(true);
    expect(out).toContain("value: 42");
  });

  it("shows a named session by name, as JSON too", async () => {
    const done = await run(["show", "--dir", dir, "notes", "--json"]);
    expect(done.code).toBe(0);
    const view = JSON.parse(done.stdout) as Record<string, unknown>;
    expect(view).toMatchObject({
      id: "session/notes",
      kind: "session",
      state: "resolved",
      cells: [
        {
          id: "session/notes/1",
          code: 'console.log("noted"); 6 * 7',
          output: [{ stream: "stdout", data: "noted\n" }],
          result: { value: 42, display: "42" },
        },
      ],
    });
  });

  it("exits 3 with one line for an unknown id", async () => {
    const done = await run(["show", "--dir", dir, "no-such-job"]);
    expect(done.code).toBe(3);
    expect(done.stdout).toBe("");
    expect(done.stderr).toBe("capsule: no execution or session named no-such-job\n");
  });
});

describe("capsule tree", () => {
  it("draws the call graph of durable promises with their states", async () => {
    const done = await run(["tree", "--dir", dir, "job-1"]);
    expect(done.code).toBe(0);
    const lines = done.stdout.trimEnd().split("\n");
    expect(lines[0]).toBe("job-1 pipeline resolved");
    expect(lines.slice(1)).toEqual([
      expect.stringMatching(/^├── job-1\S+ execute\(main\) resolved$/),
      expect.stringMatching(/^├── job-1\S+ sleep resolved$/),
      expect.stringMatching(/^└── job-1\S+ execute\(main\) resolved$/),
    ]);
  });

  it("prints the tree as JSON, and exits 3 for an unknown id", async () => {
    const done = await run(["tree", "--dir", dir, "job-1", "--json"]);
    expect(done.code).toBe(0);
    const root = JSON.parse(done.stdout) as { id: string; children: { label: string }[] };
    expect(root.id).toBe("job-1");
    expect(root.children.map((child) => child.label)).toEqual([
      "execute(main)",
      "sleep",
      "execute(main)",
    ]);
    const missing = await run(["tree", "--dir", dir, "job-404"]);
    expect(missing).toMatchObject({
      code: 3,
      stdout: "",
      stderr: "capsule: no execution job-404\n",
    });
  });
});

describe("a directory without a store", () => {
  it("lists nothing and finds nothing, without creating a store", async () => {
    const empty = tempDir();
    const listed = await run(["ls", "--dir", empty, "--json"]);
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.stdout)).toEqual({ executions: [], sessions: [] });
    const shown = await run(["show", "--dir", empty, "job-1"]);
    expect(shown.code).toBe(3);
    expect(shown.stderr).toMatch(
      /^capsule: no execution or session named job-1: there is no store in /,
    );
    const tree = await run(["tree", "--dir", empty, "job-1"]);
    expect(tree.code).toBe(3);
    expect(fs.readdirSync(empty)).toEqual([]);
  });
});

describe("named sessions in show and tree", () => {
  it("shows one cell of a session by its id, and draws a session as a tree of its cells", async () => {
    const one = await run(["show", "--dir", dir, "session/notes/1", "--json"]);
    expect(one.code).toBe(0);
    expect(JSON.parse(one.stdout)).toMatchObject({
      id: "session/notes/1",
      cells: [{ id: "session/notes/1", result: { display: "42" } }],
    });
    const tree = await run(["tree", "--dir", dir, "notes"]);
    expect(tree).toMatchObject({ code: 0, stderr: "" });
    expect(tree.stdout).toBe(
      "session/notes session resolved\n└── session/notes/1 capsule.cell resolved\n",
    );
    const missing = await run(["show", "--dir", dir, "session/notes/9"]);
    expect(missing.code).toBe(3);
  });
});

describe("on a terminal", () => {
  it("colors the output, unless NO_COLOR is set", async () => {
    const script = (env: NodeJS.ProcessEnv) =>
      run(["-q", "-e", "-c", `'${LAUNCHER}' ls --dir '${dir}'`, "/dev/null"], {
        command: "script",
        env,
      });
    const colored = await script({ TERM: "xterm" });
    expect(colored.code).toBe(0);
    expect(colored.stdout).toContain("\u001b[32mresolved\u001b[39m");
    const plain = await script({ TERM: "xterm", NO_COLOR: "1" });
    expect(plain.code).toBe(0);
    expect(plain.stdout).toContain("resolved");
    expect(plain.stdout).not.toContain("\u001b[");
  });
});

describe("a store held by another process", () => {
  it("makes every command exit 3 with one line naming the owner", async () => {
    const holder = start(["repl", "--dir", dir, "-s", "holder"]);
    await holder.waitFor("> ");
    const pid = String(holder.child.pid);
    for (const args of [["ls"], ["show", "job-1"], ["exec", "-s", "notes", "1"]]) {
      const done = await run([...args, "--dir", dir]);
      expect(done.code).toBe(3);
      expect(done.stdout).toBe("");
      expect(done.stderr).toMatch(/^capsule: store .* is locked by running process \d+\n$/);
      expect(done.stderr).toContain(pid);
    }
    holder.child.stdin?.end();
    expect((await holder.exited).code).toBe(0);
  });
});
