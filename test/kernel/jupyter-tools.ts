// Jupyter's own Python tools (jupyter_client, jupyter_kernel_test, nbclient) from the
// system Python: whether they are installed, a kernelspec for them in a temp prefix,
// and running a Python script against it as a tracked child process.
import { spawnSync } from "node:child_process";
import path from "node:path";
import { type Finished, run, tempDir } from "../cli/cli-process.ts";

/** Debian installs the packages for the system Python, which need not be first on PATH. */
export const PYTHON = "/usr/bin/python3";
export const PACKAGES = "python3-jupyter-client python3-jupyter-kernel-test python3-nbclient";

/** Undefined when the tools load; otherwise why not (shown as the skip or failure reason). */
export function missingJupyterTools(): string | undefined {
  const probe = spawnSync(PYTHON, ["-c", "import jupyter_client, jupyter_kernel_test, nbclient"], {
    encoding: "utf8",
  });
  if (probe.status === 0) return undefined;
  const why = probe.error?.message ?? probe.stderr.trim().split("\n").at(-1) ?? "unknown";
  return `Jupyter's Python tools are not installed (${why}); install them with: apt-get install -y ${PACKAGES}`;
}

export interface JupyterEnv {
  /** Scratch directory holding the kernelspec prefix, the store and notebooks. */
  dir: string;
  kernelName: string;
  env: NodeJS.ProcessEnv;
}

/** Installs a kernelspec with `capsule kernel install --prefix` in a fresh temp dir. */
export async function jupyterEnv(kernelName = "capsule-test"): Promise<JupyterEnv> {
  const dir = tempDir("capsule-jupyter-");
  const installed = await run(["kernel", "install", "--prefix", dir, "--name", kernelName]);
  if (installed.code !== 0) throw new Error(`kernel install failed: ${installed.stderr}`);
  return {
    dir,
    kernelName,
    env: {
      JUPYTER_PATH: path.join(dir, "share", "jupyter"),
      // Runtime files (connection files) and the store stay inside the scratch dir.
      JUPYTER_RUNTIME_DIR: path.join(dir, "runtime"),
      CAPSULE_DIR: path.join(dir, "store"),
      CAPSULE_TEST_KERNEL: kernelName,
    },
  };
}

/** Runs the system Python with `args` (absolute paths) to completion. */
export function python(args: string[], env: NodeJS.ProcessEnv): Promise<Finished> {
  return run(args, { command: PYTHON, env });
}
