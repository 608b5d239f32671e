// `capsule kernel install` and a kernel started on a bad connection file: what users
// type, through the launcher, with the errors they get.
import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { cleanup, LAUNCHER, run, tempDir } from "../cli/cli-process.ts";

afterEach(cleanup);

describe("capsule kernel install", () => {
  it("writes a kernelspec whose argv is this checkout's launcher, with interrupts by message", async () => {
    const prefix = tempDir();
    const done = await run(["kernel", "install", "--prefix", prefix, "--name", "capsule-x"]);
    expect(done.code).toBe(0);
    const file = path.join(prefix, "share", "jupyter", "kernels", "capsule-x", "kernel.json");
    expect(done.stdout).toContain(path.dirname(file));
    expect(JSON.parse(fs.readFileSync(file, "utf8"))).toEqual({
      argv: [LAUNCHER, "kernel", "-f", "{connection_file}"],
      display_name: "Capsule (capsule-x)",
      language: "typescript",
      interrupt_mode: "message",
      metadata: { debugger: false },
    });
  });

  it("installs for the user by default, under JUPYTER_DATA_DIR", async () => {
    const data = tempDir();
    const done = await run(["kernel", "install"], { env: { JUPYTER_DATA_DIR: data } });
    expect(done.code).toBe(0);
    expect(fs.existsSync(path.join(data, "kernels", "capsule", "kernel.json"))).toBe(true);
  });

  it("refuses a bad name, two locations, and --sys-prefix outside a Python environment", async () => {
    const bad = await run(["kernel", "install", "--prefix", tempDir(), "--name", "../escape"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('kernel name "../escape" must be');
    const both = await run(["kernel", "install", "--user", "--prefix", tempDir()]);
    expect(both.stderr).toContain("choose one of --user, --sys-prefix and --prefix");
    const sys = await run(["kernel", "install", "--sys-prefix"], {
      env: { VIRTUAL_ENV: "", CONDA_PREFIX: "" },
    });
    expect(sys.stderr).toContain("--sys-prefix needs an active Python environment");
  });
});

describe("capsule kernel -f", () => {
  it("fails with a clear error on a missing, malformed or unsupported connection file", async () => {
    const dir = tempDir();
    const missing = await run(["kernel", "-f", path.join(dir, "nope.json"), "--dir", dir]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("cannot read connection file");
    const file = path.join(dir, "kernel-x.json");
    fs.writeFileSync(file, JSON.stringify({ ip: "127.0.0.1", shell_port: "nope" }));
    const malformed = await run(["kernel", "-f", file, "--dir", dir]);
    expect(malformed.stderr).toMatch(/connection file .*shell_port/);
    fs.writeFileSync(
      file,
      JSON.stringify({
        ip: "127.0.0.1",
        shell_port: 1,
        iopub_port: 2,
        stdin_port: 3,
        control_port: 4,
        hb_port: 5,
        key: "k",
        signature_scheme: "hmac-md5",
      }),
    );
    const scheme = await run(["kernel", "-f", file, "--dir", dir]);
    expect(scheme.stderr).toContain("signature_scheme hmac-md5 is not supported");
    const none = await run(["kernel", "--dir", dir]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("-f <connection file> is required");
  });
});
