import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSession } from "./helpers.ts";

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
        "['CAPSULE_TEST_SECRET' in process.env, process.env.GREETING, process.env.HOME]",
      );
      const [secret, greeting, home] = r.value as [boolean, unknown, string];
      expect(secret).toBe(false);
      expect(greeting).toBe("hi");
      expect(home).toMatch(/capsule-session-/);
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
