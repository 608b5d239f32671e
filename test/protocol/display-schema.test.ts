/**
 * The rich-output and introspection messages are validated on the host like every frame:
 * a worker is hostile, so a bundle that is not one, or an answer over the wire's bounds,
 * is a protocol error, not something the kernel forwards to a frontend.
 */
import { describe, expect, it } from "vitest";
import { isHostMessage, isWorkerMessage, MessageSchema } from "../../src/protocol/messages.ts";
import { SAMPLES } from "./samples.ts";

const accepts = (value: unknown) => MessageSchema.safeParse(value).success;

describe("display and introspect messages", () => {
  const display = SAMPLES.display;

  it("accepts a bundle of text, base64 and JSON data, and a clear", () => {
    expect(accepts(display)).toBe(true);
    expect(accepts({ ...display, data: { "application/vnd.vega.v5+json": { mark: "bar" } } })).toBe(
      true,
    );
    expect(
      accepts({ type: "display", execution_id: "e", action: "clear", data: {}, wait: true }),
    ).toBe(true);
  });

  it("refuses non-text data for a text type, a malformed MIME type, an unknown action", () => {
    expect(accepts({ ...display, data: { "text/html": { html: "<b>" } } })).toBe(false);
    expect(accepts({ ...display, data: { "image/png": new Uint8Array([1, 2]) } })).toBe(false);
    expect(accepts({ ...display, data: { "not a mime": "x" } })).toBe(false);
    expect(accepts({ ...display, data: { [`text/${"x".repeat(300)}`]: "x" } })).toBe(false);
    expect(accepts({ ...display, action: "replace" })).toBe(false);
    expect(accepts({ ...display, display_id: "" })).toBe(false);
    expect(accepts({ ...display, metadata: null })).toBe(false);
  });

  it("bounds an introspection answer", () => {
    const answer = SAMPLES.introspection;
    expect(accepts(answer)).toBe(true);
    expect(accepts({ ...answer, matches: Array.from({ length: 10_001 }, () => "a") })).toBe(false);
    expect(accepts({ ...answer, text: "x".repeat(100_001) })).toBe(false);
    expect(accepts({ ...SAMPLES.introspect, path: Array.from({ length: 65 }, () => "a") })).toBe(
      false,
    );
  });

  it("lets each side send only its own kind", () => {
    const parse = (value: unknown) => MessageSchema.parse(value);
    expect(isWorkerMessage(parse(display))).toBe(true);
    expect(isHostMessage(parse(display))).toBe(false);
    expect(isHostMessage(parse(SAMPLES.introspect))).toBe(true);
    expect(isWorkerMessage(parse(SAMPLES.introspect))).toBe(false);
    expect(isWorkerMessage(parse(SAMPLES.introspection))).toBe(true);
    expect(isHostMessage(parse(SAMPLES.introspection))).toBe(false);
  });
});
