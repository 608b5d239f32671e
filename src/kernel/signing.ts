/**
 * Message signatures of the Jupyter wire protocol: an HMAC over the four JSON frames
 * (header, parent header, metadata, content), hex-encoded. An empty key means signing is
 * off (the spec allows it; the signature frame is then empty).
 */
import { createHmac, timingSafeEqual } from "node:crypto";

/** The only scheme Capsule accepts; Jupyter's default. */
export const SIGNATURE_SCHEME = "hmac-sha256";

export class Signer {
  readonly #key: Buffer;

  constructor(key: string) {
    this.#key = Buffer.from(key, "utf8");
  }

  /** Hex signature of the frames (empty when the key is empty). */
  sign(frames: readonly Buffer[]): string {
    if (this.#key.length === 0) return "";
    const hmac = createHmac("sha256", this.#key);
    for (const frame of frames) hmac.update(frame);
    return hmac.digest("hex");
  }

  /**
   * Whether `signature` is the frames' signature. Compared in constant time, so a
   * forger learns nothing from how long a rejection takes.
   */
  verify(signature: Buffer, frames: readonly Buffer[]): boolean {
    if (this.#key.length === 0) return true;
    const expected = Buffer.from(this.sign(frames), "utf8");
    return signature.length === expected.length && timingSafeEqual(signature, expected);
  }
}
