/**
 * FIX 4.2 tag=value messages: fields separated by SOH (0x01), framed by BeginString(8)
 * and BodyLength(9) at the front and CheckSum(10) at the end.
 *
 * BodyLength counts the bytes after the SOH that ends the BodyLength field up to and
 * including the SOH before `10=`; CheckSum is the sum of every byte before `10=`, mod 256,
 * written as three digits. Both are computed here on encode and verified by the parser.
 */
import { FixError } from "./errors.ts";

export const SOH = 0x01;
export const BEGIN_STRING = "FIX.4.2";

/** The tags the session layer reads and writes. */
export const Tag = {
  BeginSeqNo: 7,
  BeginString: 8,
  BodyLength: 9,
  CheckSum: 10,
  ClOrdID: 11,
  CumQty: 14,
  EndSeqNo: 16,
  ExecID: 17,
  ExecTransType: 20,
  MsgSeqNum: 34,
  MsgType: 35,
  NewSeqNo: 36,
  OrderID: 37,
  OrderQty: 38,
  OrdStatus: 39,
  OrdType: 40,
  PossDupFlag: 43,
  Price: 44,
  RefSeqNum: 45,
  SenderCompID: 49,
  SendingTime: 52,
  Side: 54,
  Symbol: 55,
  TargetCompID: 56,
  Text: 58,
  TransactTime: 60,
  EncryptMethod: 98,
  HeartBtInt: 108,
  TestReqID: 112,
  OrigSendingTime: 122,
  GapFillFlag: 123,
  ResetSeqNumFlag: 141,
  ExecType: 150,
  LeavesQty: 151,
  AvgPx: 6,
  HandlInst: 21,
  RefTagID: 371,
  SessionRejectReason: 373,
} as const;

/** MsgType(35) values of FIX 4.2 used here. */
export const MsgType = {
  Heartbeat: "0",
  TestRequest: "1",
  ResendRequest: "2",
  Reject: "3",
  SequenceReset: "4",
  Logout: "5",
  Logon: "A",
  NewOrderSingle: "D",
  ExecutionReport: "8",
} as const;

const ADMIN_TYPES: ReadonlySet<string> = new Set(["0", "1", "2", "3", "4", "5", "A"]);

/** Session-level (administrative) messages are gap-filled, never resent. */
export function isAdminType(msgType: string): boolean {
  return ADMIN_TYPES.has(msgType);
}

export type FixField = readonly [tag: number, value: string];

/** A decoded message: its fields in wire order, BeginString through CheckSum. */
export class FixMessage {
  readonly fields: readonly FixField[];

  constructor(fields: readonly FixField[]) {
    this.fields = fields;
  }

  /** The first value of `tag`, or undefined. */
  get(tag: number): string | undefined {
    return this.fields.find(([t]) => t === tag)?.[1];
  }

  /** The value of `tag` as a non-negative integer, or undefined if absent or not one. */
  int(tag: number): number | undefined {
    const value = this.get(tag);
    return value !== undefined && /^\d{1,15}$/.test(value) ? Number(value) : undefined;
  }

  get msgType(): string {
    return this.get(Tag.MsgType) ?? "";
  }

  get seqNum(): number | undefined {
    return this.int(Tag.MsgSeqNum);
  }

  get possDup(): boolean {
    return this.get(Tag.PossDupFlag) === "Y";
  }

  /** Human-readable form, SOH shown as `|`. */
  toString(): string {
    return this.fields.map(([tag, value]) => `${tag}=${value}`).join("|");
  }
}

/** Sum of the bytes mod 256, as FIX writes it: three digits. */
export function checksum(bytes: Uint8Array, start = 0, end = bytes.length): string {
  let sum = 0;
  for (let i = start; i < end; i++) sum += bytes[i] ?? 0;
  return String(sum % 256).padStart(3, "0");
}

function checkField(tag: number, value: string): void {
  if (!Number.isInteger(tag) || tag <= 0) {
    throw new FixError("FIX_INVALID_FIELD", `invalid tag ${tag}`);
  }
  if (value.length === 0 || !/^[ -~]+$/.test(value)) {
    throw new FixError(
      "FIX_INVALID_FIELD",
      `tag ${tag}: a value must be non-empty printable ASCII without SOH`,
    );
  }
}

/**
 * Encodes a message: `body` is every field from MsgType(35) on (header and body, no
 * framing); BeginString, BodyLength and CheckSum are added here.
 * @throws FixError (FIX_INVALID_FIELD) for a framing tag in `body`, a bad tag or value.
 */
export function encodeMessage(body: readonly FixField[], beginString = BEGIN_STRING): Buffer {
  if (body[0]?.[0] !== Tag.MsgType) {
    throw new FixError("FIX_INVALID_FIELD", "the body must start with MsgType(35)");
  }
  let text = "";
  for (const [tag, value] of body) {
    if (tag === Tag.BeginString || tag === Tag.BodyLength || tag === Tag.CheckSum) {
      throw new FixError("FIX_INVALID_FIELD", `tag ${tag} is framing, added by the encoder`);
    }
    checkField(tag, value);
    text += `${tag}=${value}\u0001`;
  }
  const head = `8=${beginString}\u00019=${Buffer.byteLength(text, "latin1")}\u0001`;
  const framed = Buffer.from(head + text, "latin1");
  return Buffer.concat([framed, Buffer.from(`10=${checksum(framed)}\u0001`, "latin1")]);
}

/** FIX UTCTimestamp with milliseconds: YYYYMMDD-HH:MM:SS.sss */
export function fixTimestamp(ms: number): string {
  const iso = new Date(ms).toISOString(); // 2026-12-01T20:15:30.123Z
  return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}-${iso.slice(11, 23)}`;
}
