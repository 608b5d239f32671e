// The wire protocol's untrusted-input rules: a message is acted on only when its
// signature matches (constant-time compare) and its frames have the spec's shape.
import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { Signer } from "../../src/kernel/signing.ts";
import { encodeMessage, parseMessage } from "../../src/kernel/wire.ts";

const KEY = "secret-key";
const signer = new Signer(KEY);

function frames(header: unknown, content: unknown = {}, key = KEY): Buffer[] {
  const parts = [header, {}, {}, content].map((part) => Buffer.from(JSON.stringify(part)));
  const hmac = createHmac("sha256", key);
  for (const part of parts) hmac.update(part);
  return [
    Buffer.from("client-id"),
    Buffer.from("<IDS|MSG>"),
    Buffer.from(hmac.digest("hex")),
    ...parts,
  ];
}

const header = {
  msg_id: "1",
  msg_type: "execute_request",
  session: "s",
  username: "u",
  version: "5.3",
};

describe("kernel wire protocol", () => {
  it("parses a well-signed message and keeps its routing identity", () => {
    const parsed = parseMessage(frames(header, { code: "1" }), signer);
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.message.identities.map(String)).toEqual(["client-id"]);
    expect(parsed.message.header.msg_type).toBe("execute_request");
    expect(parsed.message.content).toEqual({ code: "1" });
  });

  it("rejects a wrong key, a tampered frame and a truncated signature", () => {
    expect(parseMessage(frames(header, {}, "other-key"), signer)).toEqual({
      ok: false,
      reason: "bad signature",
    });
    const tampered = frames(header, { code: "1" });
    tampered[6] = Buffer.from(JSON.stringify({ code: "process.exit()" }));
    expect(parseMessage(tampered, signer)).toEqual({ ok: false, reason: "bad signature" });
    const short = frames(header);
    short[2] = short[2]?.subarray(0, 10) ?? Buffer.alloc(0);
    expect(parseMessage(short, signer)).toEqual({ ok: false, reason: "bad signature" });
  });

  it("rejects malformed messages with a reason instead of throwing", () => {
    expect(parseMessage([Buffer.from("no delimiter")], signer)).toMatchObject({
      ok: false,
      reason: "no <IDS|MSG> delimiter",
    });
    expect(parseMessage(frames(header).slice(0, 5), signer)).toMatchObject({ ok: false });
    expect(parseMessage(frames({ msg_id: 1 }), signer)).toEqual({
      ok: false,
      reason: "malformed header",
    });
    expect(parseMessage(frames(header, [1, 2]), signer)).toMatchObject({ ok: false });
    const notJson = frames(header);
    notJson[6] = Buffer.from("{not json");
    const hmac = createHmac("sha256", KEY);
    for (const part of notJson.slice(3, 7)) hmac.update(part);
    notJson[2] = Buffer.from(hmac.digest("hex"));
    expect(parseMessage(notJson, signer)).toEqual({ ok: false, reason: "content is not JSON" });
  });

  it("signs what it sends so that a client's check passes, and replies to the request's identity", () => {
    const request = parseMessage(frames(header), signer);
    if (!request.ok) throw new Error(request.reason);
    const out = encodeMessage(
      { msgType: "execute_reply", content: { status: "ok" }, parent: request.message },
      "kernel-session",
      signer,
    );
    expect(String(out[0])).toBe("client-id");
    const back = parseMessage(out, signer);
    expect(back.ok && back.message.parentHeader).toMatchObject({ msg_id: "1" });
    expect(back.ok && back.message.header).toMatchObject({
      msg_type: "execute_reply",
      session: "kernel-session",
      version: "5.3",
    });
  });
});
