/**
 * `capsule worker`: joins a Resonate worker group and runs the cells of `{ group }`
 * sessions for any orchestrator (durable/groups/). Runs until SIGINT or SIGTERM; prints
 * one line once it has joined.
 */
import { once } from "node:events";
import { CapsuleWorker } from "../../durable/groups/index.ts";

export interface WorkerCommandOptions {
  url?: string;
  group?: string;
  concurrency?: number;
  token?: string;
  leaseMs?: number;
  allowFsRead?: string[];
  allowFsWrite?: string[];
}

export async function workerCommand(options: WorkerCommandOptions): Promise<void> {
  const worker = CapsuleWorker.start({
    ...(options.url === undefined ? {} : { url: options.url }),
    ...(options.group === undefined ? {} : { group: options.group }),
    ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
    ...(options.token === undefined ? {} : { token: options.token }),
    ...(options.leaseMs === undefined ? {} : { leaseMs: options.leaseMs }),
    pool: {
      permissions: {
        fsRead: options.allowFsRead ?? [],
        fsWrite: options.allowFsWrite ?? [],
      },
    },
  });
  process.stdout.write(
    `capsule: worker ${worker.pid} (pid ${process.pid}) in group ${worker.group} at ${worker.url}\n`,
  );
  await Promise.race([once(process, "SIGINT"), once(process, "SIGTERM")]);
  await worker.stop();
}
