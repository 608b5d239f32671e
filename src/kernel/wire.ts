/**
 * The Jupyter wire protocol (messaging spec 5.3): a message is a ZeroMQ multipart
 * message `[...identities, "<IDS|MSG>", signature, header, parent_header, metadata,
 * content, ...buffers]`, the four middle frames JSON. Frames from a client are
 * untrusted: they are checked for shape and signature before anything reads them.
 */
import { randomUUID } from "node:crypto";
import { z } from "zod";
import type { Signer } from "./signing.ts";

export const PROTOCOL_VERSION = "5.3";
const DELIMITER = Buffer.from("<IDS|MSG>", "utf8");

/** A JSON object as the protocol carries it (content, metadata). */
export type JsonObject = { [key: string]: unknown };

const headerSchema = z.object({
  msg_id: z.string(),
  msg_type: z.string().min(1),
  session: z.string(),
  username: z.string().optional(),
  date: z.string().optional(),
  version: z.string().optional(),
});

export type Header = z.infer<typeof headerSchema>;

const jsonObject = z.record(z.string(), z.unknown());

/** A parsed, signature-checked message from a client. */
export interface Message {
  /** ZeroMQ routing identities (where a reply on a ROUTER socket goes). */
  identities: Buffer[];
  header: Header;
  /** The parent header as sent (empty object for none). */
  parentHeader: JsonObject;
  metadata: JsonObject;
  content: JsonObject;
  buffers: Buffer[];
}

export type ParseResult = { ok: true; message: Message } | { ok: false; reason: string };

function parseJson(
  frame: Buffer,
  what: string,
): { ok: true; value: unknown } | { ok: false; reason: string } {
  try {
    return { ok: true, value: JSON.parse(frame.toString("utf8")) };
  } catch {
    return { ok: false, reason: `${what} is not JSON` };
  }
}

/** Parses and verifies a multipart message; never throws on bad input. */
export function parseMessage(frames: readonly Buffer[], signer: Signer): ParseResult {
  const at = frames.findIndex((frame) => frame.equals(DELIMITER));
  if (at === -1) return { ok: false, reason: "no <IDS|MSG> delimiter" };
  const [signature, header, parent, metadata, content] = frames.slice(at + 1, at + 6);
  if (
    signature === undefined ||
    header === undefined ||
    parent === undefined ||
    metadata === undefined ||
    content === undefined
  ) {
    return { ok: false, reason: "fewer than five frames after the delimiter" };
  }
  if (!signer.verify(signature, [header, parent, metadata, content])) {
    return { ok: false, reason: "bad signature" };
  }
  const parsed: unknown[] = [];
  for (const [frame, what] of [
    [header, "header"],
    [parent, "parent header"],
    [metadata, "metadata"],
    [content, "content"],
  ] as const) {
    const json = parseJson(frame, what);
    if (!json.ok) return json;
    parsed.push(json.value);
  }
  const checkedHeader = headerSchema.safeParse(parsed[0]);
  if (!checkedHeader.success) return { ok: false, reason: "malformed header" };
  const objects = [parsed[1], parsed[2], parsed[3]].map((value) => jsonObject.safeParse(value));
  const [checkedParent, checkedMetadata, checkedContent] = objects;
  if (!checkedParent?.success || !checkedMetadata?.success || !checkedContent?.success) {
    return { ok: false, reason: "parent header, metadata and content must be JSON objects" };
  }
  return {
    ok: true,
    message: {
      identities: frames.slice(0, at).map((frame) => Buffer.from(frame)),
      header: checkedHeader.data,
      parentHeader: checkedParent.data,
      metadata: checkedMetadata.data,
      content: checkedContent.data,
      buffers: frames.slice(at + 6).map((frame) => Buffer.from(frame)),
    },
  };
}

/** What the kernel sends: a message type, its content, and the request it answers. */
export interface Outgoing {
  msgType: string;
  content: JsonObject;
  parent?: Message;
  metadata?: JsonObject;
  identities?: Buffer[];
}

/** Builds the signed multipart frames of a kernel message. */
export function encodeMessage(outgoing: Outgoing, session: string, signer: Signer): Buffer[] {
  const header: Header = {
    msg_id: randomUUID(),
    msg_type: outgoing.msgType,
    session,
    username: "capsule",
    date: new Date().toISOString(),
    version: PROTOCOL_VERSION,
  };
  const parts = [
    header,
    outgoing.parent?.header ?? {},
    outgoing.metadata ?? {},
    outgoing.content,
  ].map((part) => Buffer.from(JSON.stringify(part), "utf8"));
  const identities = outgoing.identities ?? outgoing.parent?.identities ?? [];
  return [...identities, DELIMITER, Buffer.from(signer.sign(parts), "utf8"), ...parts];
}
