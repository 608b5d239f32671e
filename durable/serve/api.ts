/**
 * The RPC endpoint of `capsule serve` (`POST /`), answering as a Resonate server does:
 * the HTTP status is the protocol status of the answer; an envelope that is not JSON,
 * not a protocol request, or of a protocol version this server does not speak is a 400;
 * `debug.*` requests (reset, tick, snap…) are a 403 unless the server was started with
 * debugging on, because any client could otherwise wipe or fast-forward the store.
 */
import type http from "node:http";
import { isRequest, type Request } from "@resonatehq/sdk";
import { CapsuleError } from "../../src/errors.ts";
import type { EmbeddedNetwork } from "../store/index.ts";

/** The protocol version @resonatehq/sdk 0.11.5 (pinned) speaks, and so this server. */
export const SUPPORTED_VERSIONS: readonly string[] = ["2026-04-01"];

export interface ApiOptions {
  store: EmbeddedNetwork;
  maxBodyBytes: number;
  debug: boolean;
}

export async function answerRequest(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  options: ApiOptions,
): Promise<void> {
  let body: unknown;
  try {
    body = JSON.parse(await readBody(req, options.maxBodyBytes));
  } catch (error) {
    replyError(res, undefined, 400, `request is not JSON: ${(error as Error).message}`);
    return;
  }
  if (!isRequest(body)) {
    replyError(res, body, 400, "not a Resonate protocol request");
    return;
  }
  const request = body as Request;
  if (!SUPPORTED_VERSIONS.includes(request.head.version)) {
    const supported = SUPPORTED_VERSIONS.join(", ");
    replyError(
      res,
      request,
      400,
      `unsupported protocol version '${request.head.version}', supported: ${supported}`,
    );
    return;
  }
  if (request.kind.startsWith("debug.") && !options.debug) {
    replyError(
      res,
      request,
      403,
      "debug operations are disabled (start capsule serve with --debug)",
    );
    return;
  }
  try {
    const response = await options.store.send(request);
    reply(res, response.head.status, response);
  } catch (error) {
    // A store failure (write failed, store closed): the client sees a failed platform
    // call and retries; nothing was acknowledged.
    const code = error instanceof CapsuleError ? error.code : "STORE_WRITE_FAILED";
    replyError(res, request, 503, `${code}: ${(error as Error).message}`);
  }
}

/** An error answer in the protocol's envelope, so clients can correlate it. */
function replyError(
  res: http.ServerResponse,
  request: unknown,
  status: number,
  message: string,
): void {
  const envelope =
    typeof request === "object" && request !== null ? (request as Partial<Request>) : {};
  reply(res, status, {
    kind: typeof envelope.kind === "string" ? envelope.kind : "unknown",
    head: {
      corrId: typeof envelope.head?.corrId === "string" ? envelope.head.corrId : "",
      status,
      version: SUPPORTED_VERSIONS[0],
    },
    data: message,
  });
}

export function reply(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
  });
  res.end(text);
}

function readBody(req: http.IncomingMessage, maxBody: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.byteLength;
      if (size > maxBody) {
        reject(new Error(`body over ${maxBody} bytes`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}
