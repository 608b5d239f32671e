/**
 * Workers' private working directories under `os.tmpdir()`. Each name records the pid of
 * the host that created it (`capsule-session-<hostpid>-XXXXXX`), so a later host can tell
 * the directories of a host that died (`kill -9`, a crash, a power cut) from those of a
 * host still running, and remove only the former.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const PREFIX = "capsule-session-";
const OWNED = /^capsule-session-(\d+)-[A-Za-z0-9]{6}$/;

/** Creates a working directory owned by this process. */
export function createWorkdir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `${PREFIX}${process.pid}-`));
}

export function removeWorkdir(workdir: string): void {
  fs.rmSync(workdir, { recursive: true, force: true });
}

/**
 * Removes the working directories whose owning host process no longer exists, and
 * returns their paths. Directories of live hosts (this one included) are left alone, and
 * so are names it does not recognise. Pool start calls it; the durable layer can call it
 * when a store opens. A pid reused by an unrelated process keeps its directories until
 * that process ends too: the error is on the side of keeping.
 */
export function removeOrphanedWorkdirs(directory: string = os.tmpdir()): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(directory);
  } catch {
    return []; // no temporary directory at all: nothing can be left behind in it
  }
  const removed: string[] = [];
  for (const name of names) {
    const owner = OWNED.exec(name)?.[1];
    if (owner === undefined) continue;
    const pid = Number(owner);
    if (pid === process.pid || processAlive(pid)) continue;
    const workdir = path.join(directory, name);
    fs.rmSync(workdir, { recursive: true, force: true });
    removed.push(workdir);
  }
  return removed;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else; keep its directories.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
