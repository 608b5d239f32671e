// Starts `capsule kernel` as a real child process (through the launcher) on a fresh
// connection file, with a client connected to it.
import path from "node:path";
import { type LiveCli, start, tempDir } from "../cli/cli-process.ts";
import { JupyterClient, writeConnectionFile } from "./jupyter-client.ts";

export interface RunningKernel {
  cli: LiveCli;
  client: JupyterClient;
  /** The store directory (shared by kernels started again for the same notebook). */
  dir: string;
  connection: { file: string; key: string };
}

export async function startKernel(
  options: { dir?: string; env?: NodeJS.ProcessEnv; key?: string; args?: string[] } = {},
): Promise<RunningKernel> {
  const dir = options.dir ?? tempDir("capsule-kernel-");
  const connection = writeConnectionFile(tempDir("capsule-kcf-"), options.key);
  const cli = start(
    ["kernel", "-f", connection.file, "--dir", path.join(dir, "store"), ...(options.args ?? [])],
    {
      env: { JPY_SESSION_NAME: path.join(dir, "notebook.ipynb"), ...options.env },
    },
  );
  const client = new JupyterClient(connection);
  // Fail fast with the kernel's own words when it dies while we wait.
  const died = cli.exited.then((end) => {
    throw new Error(`kernel exited (${end.code ?? end.signal}) before it was ready: ${end.stderr}`);
  });
  await Promise.race([client.ready(), died]);
  died.catch(() => undefined);
  return { cli, client, dir, connection };
}

/** Resolves when the kernel has written `text` to stderr (its log). */
export function waitForLog(cli: LiveCli, text: string): Promise<void> {
  if (cli.stderr().includes(text)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onData = () => {
      if (!cli.stderr().includes(text)) return;
      cli.child.stderr?.off("data", onData);
      resolve();
    };
    // Registered after the helper's own listener, so stderr() already holds the chunk.
    cli.child.stderr?.on("data", onData);
    void cli.exited.then(() =>
      reject(new Error(`kernel exited before logging ${text}: ${cli.stderr()}`)),
    );
  });
}
