/**
 * Which durable session a kernel process continues. A notebook keeps its namespace
 * across kernel processes because every kernel started for it picks the same name:
 * `CAPSULE_KERNEL_SESSION` when set, else one derived from `JPY_SESSION_NAME` (the
 * notebook's path, which Jupyter servers set), else from the kernel id (the connection
 * file's `kernel-<id>.json` name), else a fresh name: that kernel's state can only come
 * back through `CAPSULE_KERNEL_SESSION`.
 *
 * A restart the user asks for (shutdown_request with restart) starts clean by default:
 * people restart a kernel to get rid of its state, and a kernel that brought the state
 * back would make that impossible. Capsule then moves the notebook to a new
 * *generation* of its session (`<name>.g2`, …) and remembers it in a small file next to
 * the store, so a later crash and restart finds the new generation, not the old state.
 * `CAPSULE_KERNEL_RESTART=keep` keeps the namespace across user restarts instead.
 */
import { createHash, randomUUID } from "node:crypto";
import fs from "node:fs";
import path from "node:path";

const MAX_BASE = 60;

/** The session-name base for a notebook path or kernel id (1-100 of [A-Za-z0-9_.-]). */
export function baseName(env: NodeJS.ProcessEnv, kernelId: string | undefined): string {
  const explicit = env.CAPSULE_KERNEL_SESSION;
  if (explicit !== undefined && explicit !== "") return explicit;
  const notebook = env.JPY_SESSION_NAME;
  if (notebook !== undefined && notebook !== "") {
    // Readable (the file name) and unique (a hash of the full path): two notebooks with
    // the same file name in different folders must not share a namespace.
    const readable = path
      .basename(notebook)
      .replace(/[^A-Za-z0-9_.-]+/g, "-")
      .slice(0, MAX_BASE);
    const digest = createHash("sha256").update(notebook).digest("hex").slice(0, 10);
    return `nb-${readable}-${digest}`;
  }
  // Without a notebook path or kernel id there is nothing a later kernel could be
  // matched by: a fresh name, never one shared by unrelated kernels.
  const id = kernelId ?? randomUUID();
  return `kernel-${id.replace(/[^A-Za-z0-9_.-]+/g, "-").slice(0, MAX_BASE)}`;
}

/** Whether a user-requested restart keeps the namespace (env `CAPSULE_KERNEL_RESTART`). */
export function restartKeepsNamespace(env: NodeJS.ProcessEnv): boolean {
  return env.CAPSULE_KERNEL_RESTART === "keep";
}

/** The generations of a notebook's session, remembered in `{dir}/generations/{base}`. */
export class Generations {
  readonly #file: string;
  readonly #base: string;

  constructor(dir: string, base: string) {
    this.#file = path.join(dir, "generations", base);
    this.#base = base;
  }

  get current(): number {
    try {
      const n = Number(fs.readFileSync(this.#file, "utf8").trim());
      return Number.isInteger(n) && n >= 1 ? n : 1;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return 1;
      throw error;
    }
  }

  /** The session name of the current generation. */
  name(): string {
    const n = this.current;
    return n === 1 ? this.#base : `${this.#base}.g${n}`;
  }

  /** Moves to a new, empty generation; written atomically (a rename) before it is used. */
  advance(): string {
    const next = this.current + 1;
    fs.mkdirSync(path.dirname(this.#file), { recursive: true });
    const temporary = `${this.#file}.${process.pid}.tmp`;
    fs.writeFileSync(temporary, `${next}\n`);
    fs.renameSync(temporary, this.#file);
    return this.name();
  }
}
