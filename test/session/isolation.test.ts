import { once } from "node:events";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { SessionPool } from "../../src/session/pool.ts";
import { processExists, startSession } from "./helpers.ts";
import { SANDBOX_MODES } from "./sandbox-modes.ts";

describe("isolation", () => {
  let outside: string;
  beforeAll(() => {
    outside = fs.mkdtempSync(path.join(os.tmpdir(), "capsule-outside-"));
    fs.writeFileSync(path.join(outside, "secret.txt"), "host secret");
  });
  afterAll(() => fs.rmSync(outside, { recursive: true, force: true }));

  it("scrubs the environment: host variables are not visible", async () => {
    process.env.CAPSULE_TEST_SECRET = "hunter2";
    try {
      const session = await startSession({ env: { GREETING: "hi" } });
      const r = await session.execute(
        "['CAPSULE_TEST_SECRET' in process.env, process.env.GREETING, process.env.HOME, process.env.MALLOC_ARENA_MAX]",
      );
      const [secret, greeting, home, arenas] = r.value as [boolean, unknown, string, unknown];
      expect(secret).toBe(false);
      expect(greeting).toBe("hi");
      expect(home).toMatch(/capsule-session-/);
      // Capsule's own setting for the worker's malloc (spawn.ts), which a caller may change.
      expect(arenas).toBe("2");
      const own = await startSession({ env: { MALLOC_ARENA_MAX: "4" } });
      expect((await own.execute("process.env.MALLOC_ARENA_MAX")).value).toBe("4");
    } finally {
      delete process.env.CAPSULE_TEST_SECRET;
    }
  });

  it("runs in its own temporary working directory, removed when the session closes", async () => {
    const session = await startSession();
    const cwd = (await session.execute("process.cwd()")).value as string;
    expect(cwd).toMatch(/capsule-session-/);
    await session.execute("require('node:fs').writeFileSync('note.txt', 'mine')");
    expect(fs.readFileSync(path.join(cwd, "note.txt"), "utf8")).toBe("mine");
    await session.close();
    expect(fs.existsSync(cwd)).toBe(false);
  });

  it("denies reading and writing outside the granted paths", async () => {
    const session = await startSession();
    await expect(
      session.execute(
        `require('node:fs').readFileSync(${JSON.stringify(path.join(outside, "secret.txt"))}, 'utf8')`,
      ),
    ).rejects.toMatchObject({
      code: "EXECUTION_ERROR",
      message: expect.stringContaining("Access to this API has been restricted"),
    });
    await expect(
      session.execute(
        `require('node:fs').writeFileSync(${JSON.stringify(path.join(outside, "x.txt"))}, 'x')`,
      ),
    ).rejects.toMatchObject({ code: "EXECUTION_ERROR" });
    expect(fs.existsSync(path.join(outside, "x.txt"))).toBe(false);
  });

  it("keeps the permission model in a thread a cell starts with its own execArgv", async () => {
    // Node applies the model per thread, from the thread's flags: `execArgv: []` used to
    // give the thread unconfined file access; a thread's own `--allow-fs-read=*` must not
    // widen it either. Without the OS sandbox, the permission model is the only layer.
    const session = await startSession({ sandbox: "permissions-only" });
    const secret = JSON.stringify(path.join(outside, "secret.txt"));
    for (const execArgv of ["[]", '["--allow-fs-read=*"]', '["--no-permission"]']) {
      const r = await session.execute(`await new Promise((resolve) => {
        const { Worker } = require("node:worker_threads");
        const code = "const p = require('node:worker_threads').parentPort; try { p.postMessage(require('node:fs').readFileSync(${secret.replaceAll('"', "'")}, 'utf8')) } catch (error) { p.postMessage(error.code) }";
        const thread = new Worker(code, { eval: true, execArgv: ${execArgv} });
        thread.on("message", resolve);
        thread.on("error", (error) => resolve(error.message));
      })`);
      expect(r.value, `execArgv ${execArgv}`).toBe("ERR_ACCESS_DENIED");
    }
  });

  it("allows the paths a caller grants", async () => {
    const session = await startSession({ permissions: { fsRead: [outside], fsWrite: [outside] } });
    const file = JSON.stringify(path.join(outside, "secret.txt"));
    expect((await session.execute(`require('node:fs').readFileSync(${file}, 'utf8')`)).value).toBe(
      "host secret",
    );
    await session.execute(
      `require('node:fs').writeFileSync(${JSON.stringify(path.join(outside, "ok.txt"))}, 'ok')`,
    );
    expect(fs.readFileSync(path.join(outside, "ok.txt"), "utf8")).toBe("ok");
  });

  it("reads a project's packages but not the rest of the project (a store, secrets)", async () => {
    const project = fs.mkdtempSync(path.join(os.tmpdir(), "capsule-project-"));
    try {
      fs.mkdirSync(path.join(project, "node_modules", "greeter"), { recursive: true });
      fs.writeFileSync(
        path.join(project, "node_modules", "greeter", "index.js"),
        "exports.hi = () => 'hi';",
      );
      fs.writeFileSync(path.join(project, "package.json"), "{}");
      fs.mkdirSync(path.join(project, ".capsule"));
      fs.writeFileSync(path.join(project, ".capsule", "store.db"), "other executions' data");
      const session = await startSession({ moduleRoot: project });
      expect((await session.execute("require('greeter').hi()")).value).toBe("hi");
      const store = JSON.stringify(path.join(project, ".capsule", "store.db"));
      await expect(
        session.execute(`require('node:fs').readFileSync(${store}, 'utf8')`),
      ).rejects.toMatchObject({
        message: expect.stringContaining("Access to this API has been restricted"),
      });
    } finally {
      fs.rmSync(project, { recursive: true, force: true });
    }
  });

  it("denies child processes unless granted", async () => {
    const denied = await startSession();
    await expect(
      denied.execute(
        "require('node:child_process').execFileSync('/bin/echo', ['hi'], { encoding: 'utf8' })",
      ),
    ).rejects.toMatchObject({
      code: "EXECUTION_ERROR",
      message: expect.stringContaining("Access to this API has been restricted"),
    });
    const allowed = await startSession({ permissions: { childProcess: true } });
    const r = await allowed.execute(
      "require('node:child_process').execFileSync('/bin/echo', ['hi'], { encoding: 'utf8' })",
    );
    expect(r.value).toBe("hi\n");
  });
});

const readCell = (file: string) =>
  `require('node:fs').readFileSync(${JSON.stringify(file)}, 'utf8')`;
const restricted = {
  code: "EXECUTION_ERROR",
  message: expect.stringContaining("Access to this API has been restricted"),
};

for (const { sandbox, skip } of SANDBOX_MODES) {
  describe.skipIf(skip)(`isolation between users and from the host (sandbox: ${sandbox})`, () => {
    let pool: SessionPool | undefined;
    afterEach(async () => {
      await pool?.close();
      pool = undefined;
    });

    it("user A's monkeypatches, timers and files are invisible to user B of the same pool", async () => {
      pool = new SessionPool({ sandbox, minIdle: 1, maxSessions: 2 });
      const a = await pool.acquire();
      const aPid = a.pid!;
      const aDir = (await a.execute("process.cwd()")).value as string;
      await a.execute(`
        const vm = require('node:vm');
        const original = vm.Script.prototype.runInContext;
        vm.Script.prototype.runInContext = function (...args) { return 666; };
        Object.prototype.planted = 'by A';
        globalThis.ticks = 0;
        setInterval(() => { require('node:fs').appendFileSync('ticks.txt', 'x'); }, 1);
        require('node:fs').writeFileSync('a-secret.txt', 'hunter2');
      `);
      // The patch is live in A's process: A's own next cell gets the forged value.
      expect((await a.execute("6 * 7")).value).toBe(666);
      const aRetired = once(a, "terminated");
      a.release();
      const b = await pool.acquire();
      expect(b.pid).not.toBe(aPid);
      await b.execute("let bSecret = 'hunter2'");
      expect((await b.execute("6 * 7")).value).toBe(42);
      expect((await b.execute("({}).planted")).value).toBeUndefined();
      expect((await b.execute("require('node:vm').Script.prototype.runInContext.name")).value).toBe(
        "runInContext",
      );
      expect((await b.execute("require('node:fs').readdirSync('.')")).value).toEqual([]);
      await expect(b.execute(readCell(path.join(aDir, "a-secret.txt")))).rejects.toMatchObject({
        code: "EXECUTION_ERROR",
      });
      // A's process, and with it A's timer, is gone; so is its directory.
      await aRetired;
      expect(processExists(aPid)).toBe(false);
      expect(fs.existsSync(aDir)).toBe(false);
      b.release();
    });

    it("cannot read the host's environment, /etc/shadow, a store next to the project, or another session's directory", async () => {
      const project = fs.mkdtempSync(path.join(os.tmpdir(), "capsule-project-"));
      process.env.CAPSULE_TEST_SECRET = "hunter2";
      try {
        fs.writeFileSync(path.join(project, "package.json"), "{}");
        fs.mkdirSync(path.join(project, ".capsule"));
        const store = path.join(project, ".capsule", "store.db");
        fs.writeFileSync(store, "other executions' data");
        const [session, other] = await Promise.all([
          startSession({ sandbox, moduleRoot: project }),
          startSession({ sandbox }),
        ]);
        await other.execute("require('node:fs').writeFileSync('mine.txt', 'private')");
        const otherDir = (await other.execute("process.cwd()")).value as string;

        expect((await session.execute("process.env.CAPSULE_TEST_SECRET")).value).toBeUndefined();
        await expect(session.execute(readCell("/etc/shadow"))).rejects.toMatchObject(restricted);
        await expect(session.execute(readCell(store))).rejects.toMatchObject(restricted);
        await expect(
          session.execute(readCell(path.join(otherDir, "mine.txt"))),
        ).rejects.toMatchObject(restricted);
        await expect(
          session.execute(`require('node:fs').readdirSync(${JSON.stringify(otherDir)})`),
        ).rejects.toMatchObject(restricted);
      } finally {
        delete process.env.CAPSULE_TEST_SECRET;
        fs.rmSync(project, { recursive: true, force: true });
      }
    });
  });
}

const namespaces = SANDBOX_MODES.find((mode) => mode.sandbox === "namespaces")!;
describe.skipIf(namespaces.skip)("the sandbox as a second layer", () => {
  it("hides the host's files even from a granted child process, which the permission model does not check", async () => {
    const project = fs.mkdtempSync(path.join(os.tmpdir(), "capsule-project-"));
    try {
      fs.writeFileSync(path.join(project, "package.json"), "{}");
      fs.writeFileSync(path.join(project, "store.db"), "other executions' data");
      const options = { sandbox: "namespaces" as const, permissions: { childProcess: true } };
      const [session, other] = await Promise.all([
        startSession({ ...options, moduleRoot: project }),
        startSession(options),
      ]);
      const otherDir = (await other.execute("process.cwd()")).value as string;
      const run = (command: string) =>
        session.execute(
          `(() => { try { return require('node:child_process').execSync(${JSON.stringify(command)}, { encoding: 'utf8', stdio: 'pipe' }) } catch (error) { return 'failed: ' + error.stderr } })()`,
        );
      expect((await run("cat /etc/shadow")).value).toMatch(/^failed: .*No such file/);
      expect((await run(`cat ${path.join(project, "store.db")}`)).value).toMatch(/^failed: /);
      expect((await run(`ls ${otherDir}`)).value).toMatch(/^failed: /);
      expect((await run("ls /proc | grep -c '^[0-9]'")).value).toMatch(/^[1-9]\n$/);
      expect((await run("touch /usr/planted")).value).toMatch(/Read-only file system/);
      expect((await run("echo ok > written.txt && cat written.txt")).value).toBe("ok\n");
    } finally {
      fs.rmSync(project, { recursive: true, force: true });
    }
  });
});
