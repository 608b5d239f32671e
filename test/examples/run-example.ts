// Runs an example the way CI does: `node examples/<name>.ts` with no stdin, to the end.
import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

const EXAMPLES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "examples");

export interface ExampleRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function runExample(name: string): Promise<ExampleRun> {
  const child = spawn(process.execPath, [path.join(EXAMPLES, name)], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (text: string) => {
    stdout += text;
  });
  child.stderr.setEncoding("utf8").on("data", (text: string) => {
    stderr += text;
  });
  return new Promise((resolve) => {
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** Temp dirs an example announced (`store: <dir>` lines), to check it removed them. */
export function announcedDirs(stdout: string): string[] {
  return [...stdout.matchAll(/store: (\S+)/g)].map((match) => match[1] ?? "");
}
