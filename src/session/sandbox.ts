/**
 * The OS sandbox around a session worker: bubblewrap (`bwrap`, the tool Flatpak uses),
 * which starts the worker in new user, mount, pid, IPC, UTS, cgroup and network
 * namespaces. Inside, the worker sees read-only the system's shared libraries, the Node
 * binary, Capsule's code and the project's packages; read-write only its working
 * directory and the paths granted with `permissions.fsWrite`; a private `/tmp`, `/proc`
 * and `/dev`; no other process; and no network unless granted.
 *
 * Namespaces are not a VM: the worker shares the host's kernel, and no seccomp filter
 * narrows its system calls. Node's permission model stays on inside as a second layer.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { CapsuleError } from "../errors.ts";
import type { SandboxMode } from "./options.ts";

/** What a sandboxed worker may see of the file system, besides the system's libraries. */
export interface SandboxMounts {
  workdir: string;
  /** Mounted read-only (missing paths are skipped). */
  readOnly: string[];
  /** Mounted read-write (missing paths are skipped). */
  writable: string[];
  /** Share the host's network namespace. */
  net: boolean;
}

/** System directories the dynamic loader and Node need: libraries, time zones, locales. */
const SYSTEM_DIRS = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"];
/** Configuration files name resolution and TLS read; nothing with secrets (no shadow, no passwd). */
const SYSTEM_FILES = [
  "/etc/resolv.conf",
  "/etc/hosts",
  "/etc/nsswitch.conf",
  "/etc/host.conf",
  "/etc/gai.conf",
  "/etc/localtime",
  "/etc/ssl",
  "/etc/ca-certificates",
];

/** The bubblewrap arguments that run a command in the sandbox (the command follows them). */
export function bwrapArgs(mounts: SandboxMounts): string[] {
  const args = ["--unshare-all", ...(mounts.net ? ["--share-net"] : [])];
  // The sandbox dies with the host even when the host is killed with SIGKILL.
  args.push("--die-with-parent", "--hostname", "capsule");
  // No `--new-session`: the worker's session and process group are the ones its host made
  // for it (`detached`), which has no controlling terminal to inject input into, and the
  // host interrupts a cell by signalling that group.
  for (const dir of SYSTEM_DIRS) args.push(...systemMount(dir));
  for (const file of SYSTEM_FILES) args.push("--ro-bind-try", file, file);
  const readOnly = byDepth(mounts.readOnly);
  // A grant of "/" goes under the private /proc, /dev and /tmp, never over them.
  if (readOnly[0] === "/") args.push("--ro-bind", "/", "/");
  args.push("--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp");
  // Shorter paths first, so a path inside another is mounted on top of it, not hidden by it.
  for (const entry of readOnly) if (entry !== "/") args.push("--ro-bind-try", entry, entry);
  for (const entry of byDepth([mounts.workdir, ...mounts.writable])) {
    args.push("--bind-try", entry, entry);
  }
  args.push("--chdir", mounts.workdir);
  return args;
}

/** `/lib` is a symlink into `/usr` on merged-usr systems: recreate the link, bind a directory. */
function systemMount(dir: string): string[] {
  let stat: fs.Stats;
  try {
    stat = fs.lstatSync(dir);
  } catch {
    return [];
  }
  if (stat.isSymbolicLink()) return ["--symlink", fs.readlinkSync(dir), dir];
  return stat.isDirectory() ? ["--ro-bind", dir, dir] : [];
}

function byDepth(paths: string[]): string[] {
  return [...new Set(paths.map((entry) => path.resolve(entry)))].sort(
    (a, b) => a.length - b.length,
  );
}

/**
 * The host pid of the command bubblewrap runs: bubblewrap's process has one child, the
 * pid namespace's init (bubblewrap's reaper), whose one child is the command. Read from
 * `/proc/<pid>/task/<pid>/children`; `bwrapPid` itself when that is not there to read.
 */
export function sandboxedWorkerPid(bwrapPid: number): number {
  let pid = bwrapPid;
  for (let depth = 0; depth < 2; depth++) {
    let children: string[];
    try {
      children = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(" ");
    } catch {
      return bwrapPid;
    }
    const [only, ...more] = children;
    if (only === undefined || only === "" || more.length > 0) return bwrapPid;
    pid = Number(only);
  }
  return pid;
}

/** Whether bubblewrap can start a sandbox on this machine, and if not, why. */
export interface SandboxProbe {
  available: boolean;
  reason: string;
}

let probe: Promise<SandboxProbe> | undefined;
let warnedFallback = false;

/**
 * Tries bubblewrap once per process, with the namespaces a worker gets, and remembers
 * the answer: a container without user namespaces, or a machine without `bwrap`, fails
 * here rather than at every session start.
 */
export function probeSandbox(): Promise<SandboxProbe> {
  probe ??= new Promise<SandboxProbe>((resolve) => {
    const args = [
      ...bwrapArgs({ workdir: "/tmp", readOnly: [], writable: [], net: false }),
      "/bin/sh",
      "-c",
      "exit 0",
    ];
    const child = spawn("bwrap", args, { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (data: string) => {
      stderr += data;
    });
    child.once("error", (error) => resolve({ available: false, reason: error.message }));
    child.once("close", (code, signal) => {
      if (code === 0) resolve({ available: true, reason: "bubblewrap works" });
      else {
        const how = signal === null ? `exited with code ${code}` : `was killed by ${signal}`;
        resolve({ available: false, reason: `bwrap ${how}: ${stderr.trim() || "no message"}` });
      }
    });
  });
  return probe;
}

/**
 * Decides whether a worker starts in namespaces. `namespaces` where bubblewrap does not
 * work is an error with the probe's reason; `auto` falls back to the permission model
 * alone and says so once per process (a `CAPSULE_SANDBOX_FALLBACK` process warning).
 */
export async function useNamespaces(mode: SandboxMode): Promise<boolean> {
  if (mode === "permissions-only") return false;
  const { available, reason } = await probeSandbox();
  if (available) return true;
  if (mode === "namespaces") {
    throw new CapsuleError(
      "WORKER_START_FAILED",
      `sandbox "namespaces" was requested but bubblewrap cannot run here: ${reason}`,
    );
  }
  if (!warnedFallback) {
    warnedFallback = true;
    process.emitWarning(
      `bubblewrap is not usable here (${reason}); session workers run under Node's ` +
        "permission model only, without their own namespaces. Install bubblewrap " +
        '(Debian: apt-get install bubblewrap) or pass sandbox: "permissions-only" to silence this.',
      { code: "CAPSULE_SANDBOX_FALLBACK" },
    );
  }
  return false;
}
