/**
 * `capsule serve`: the durable store over the Resonate HTTP protocol, for Capsule
 * processes in remote mode (`RESONATE_URL=http://… node app.ts`). Runs until SIGINT or
 * SIGTERM; prints one line with the URL once it is listening.
 */
import { once } from "node:events";
import { serve } from "../../durable/serve/http-server.ts";
import { type StoreOptions, storeDir } from "./store.ts";

export interface ServeCommandOptions extends StoreOptions {
  host?: string;
  port?: number;
  token?: string;
  debug?: boolean;
}

export async function serveCommand(options: ServeCommandOptions): Promise<void> {
  const dir = storeDir(options);
  const server = await serve({
    dir: `${dir}/store`,
    ...(options.host === undefined ? {} : { host: options.host }),
    ...(options.port === undefined ? {} : { port: options.port }),
    ...(options.token === undefined ? {} : { token: options.token }),
    ...(options.debug === true ? { debug: true } : {}),
  });
  process.stdout.write(`capsule: serving the store in ${dir} at ${server.url}\n`);
  await Promise.race([once(process, "SIGINT"), once(process, "SIGTERM")]);
  await server.close();
}
