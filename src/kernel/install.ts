/**
 * `capsule kernel install`: writes a kernelspec, the directory Jupyter reads to list a
 * kernel and start it. Its `argv` is the `capsule` launcher of this checkout (absolute),
 * which runs the CLI on the project's pinned Node, so the kernel works whatever `node`
 * is first on the frontend's PATH. Interrupts are messages (`interrupt_mode: message`):
 * the kernel stops the cell and keeps the namespace, which a signal could not promise.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { packageRootOf } from "../build/manifest.ts";
import { KernelError } from "../errors.ts";

export interface InstallOptions {
  user?: boolean;
  sysPrefix?: boolean;
  prefix?: string;
  name?: string;
  /** Store directory baked into the kernel's argv (default: the kernel's own default). */
  dir?: string;
  env?: NodeJS.ProcessEnv;
}

export const DEFAULT_KERNEL_NAME = "capsule";
const NAME = /^[A-Za-z0-9._-]{1,64}$/;
/**
 * The launcher next to main.ts, in the package this module belongs to (from the sources
 * or from the host build alike), so it is this checkout's.
 */
const LAUNCHER = path.join(packageRootOf(import.meta.url), "src", "cli", "capsule");

/** Jupyter's per-user data directory, as jupyter_core computes it. */
function userDataDir(env: NodeJS.ProcessEnv): string {
  if (env.JUPYTER_DATA_DIR) return env.JUPYTER_DATA_DIR;
  if (process.platform === "darwin") return path.join(os.homedir(), "Library", "Jupyter");
  if (process.platform === "win32") return path.join(env.APPDATA ?? os.homedir(), "jupyter");
  return path.join(env.XDG_DATA_HOME || path.join(os.homedir(), ".local", "share"), "jupyter");
}

/** Where the kernelspec directory goes. Without a flag: the user's (no root needed). */
export function kernelsDir(options: InstallOptions): string {
  const env = options.env ?? process.env;
  const chosen = [options.user === true, options.sysPrefix === true, options.prefix !== undefined];
  if (chosen.filter(Boolean).length > 1) {
    throw new KernelError(
      "KERNEL_INSTALL_FAILED",
      "choose one of --user, --sys-prefix and --prefix",
    );
  }
  if (options.prefix !== undefined)
    return path.join(path.resolve(options.prefix), "share", "jupyter", "kernels");
  if (options.sysPrefix === true) {
    const prefix = env.VIRTUAL_ENV || env.CONDA_PREFIX;
    if (!prefix) {
      throw new KernelError(
        "KERNEL_INSTALL_FAILED",
        "--sys-prefix needs an active Python environment (VIRTUAL_ENV or CONDA_PREFIX); use --prefix or --user",
      );
    }
    return path.join(prefix, "share", "jupyter", "kernels");
  }
  return path.join(userDataDir(env), "kernels");
}

export interface KernelSpec {
  argv: string[];
  display_name: string;
  language: string;
  interrupt_mode: "message";
  env?: Record<string, string>;
  metadata: { debugger: boolean };
}

export function kernelSpec(options: InstallOptions): KernelSpec {
  const argv = [LAUNCHER, "kernel", "-f", "{connection_file}"];
  if (options.dir !== undefined) argv.push("--dir", path.resolve(options.dir));
  const name = options.name ?? DEFAULT_KERNEL_NAME;
  return {
    argv,
    display_name: name === DEFAULT_KERNEL_NAME ? "Capsule (TypeScript)" : `Capsule (${name})`,
    language: "typescript",
    interrupt_mode: "message",
    metadata: { debugger: false },
  };
}

/** Writes `<kernels>/<name>/kernel.json`; returns the kernelspec directory. */
export function installKernel(options: InstallOptions): string {
  const name = options.name ?? DEFAULT_KERNEL_NAME;
  if (!NAME.test(name)) {
    throw new KernelError(
      "KERNEL_INSTALL_FAILED",
      `kernel name ${JSON.stringify(name)} must be 1-64 letters, digits, ".", "_" or "-"`,
    );
  }
  const dir = path.join(kernelsDir(options), name);
  try {
    fs.mkdirSync(dir, { recursive: true });
    const temporary = path.join(dir, `.kernel.json.${process.pid}`);
    fs.writeFileSync(temporary, `${JSON.stringify(kernelSpec(options), null, 2)}\n`);
    fs.renameSync(temporary, path.join(dir, "kernel.json"));
  } catch (cause) {
    throw new KernelError("KERNEL_INSTALL_FAILED", `cannot write the kernelspec in ${dir}`, {
      cause,
    });
  }
  return dir;
}
