/**
 * The connection file a Jupyter client writes for a kernel it starts (`-f FILE`): where
 * each channel listens and the key that signs messages.
 */
import fs from "node:fs";
import path from "node:path";
import { z } from "zod";
import { KernelError } from "../errors.ts";
import { SIGNATURE_SCHEME } from "./signing.ts";

const port = z.number().int().min(1).max(65_535);

const connectionSchema = z.object({
  transport: z.enum(["tcp", "ipc"]).default("tcp"),
  ip: z.string().min(1),
  shell_port: port,
  iopub_port: port,
  stdin_port: port,
  control_port: port,
  hb_port: port,
  key: z.string().default(""),
  signature_scheme: z.string().default(SIGNATURE_SCHEME),
  kernel_name: z.string().optional(),
});

export type ConnectionInfo = z.infer<typeof connectionSchema>;

export type Channel = "shell" | "iopub" | "stdin" | "control" | "hb";

/** Reads and checks a connection file. @throws KernelError (KERNEL_CONNECTION_INVALID) */
export function readConnectionFile(file: string): ConnectionInfo {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (cause) {
    throw new KernelError("KERNEL_CONNECTION_INVALID", `cannot read connection file ${file}`, {
      cause,
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new KernelError("KERNEL_CONNECTION_INVALID", `connection file ${file} is not JSON`, {
      cause,
    });
  }
  const parsed = connectionSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new KernelError(
      "KERNEL_CONNECTION_INVALID",
      `connection file ${file}: ${issue === undefined ? "invalid" : `${issue.path.join(".")}: ${issue.message}`}`,
    );
  }
  if (parsed.data.signature_scheme !== SIGNATURE_SCHEME) {
    throw new KernelError(
      "KERNEL_CONNECTION_INVALID",
      `connection file ${file}: signature_scheme ${parsed.data.signature_scheme} is not supported (only ${SIGNATURE_SCHEME})`,
    );
  }
  return parsed.data;
}

/** The ZeroMQ endpoint of a channel. */
export function endpoint(info: ConnectionInfo, channel: Channel): string {
  const portOf: Record<Channel, number> = {
    shell: info.shell_port,
    iopub: info.iopub_port,
    stdin: info.stdin_port,
    control: info.control_port,
    hb: info.hb_port,
  };
  return info.transport === "tcp"
    ? `tcp://${info.ip}:${portOf[channel]}`
    : `ipc://${info.ip}-${portOf[channel]}`;
}

/**
 * The kernel id a Jupyter client gave this kernel: its connection files are named
 * `kernel-<id>.json`. Undefined for other names.
 */
export function kernelIdOf(file: string): string | undefined {
  const match = /^kernel-(.+)\.json$/.exec(path.basename(file));
  return match?.[1];
}
