/**
 * Answering a ResendRequest: stored application messages are sent again with
 * PossDupFlag=Y and their OrigSendingTime; administrative messages (heartbeats, logons,
 * test requests…) are never resent, a SequenceReset-GapFill skips over each run of them.
 */
import {
  encodeMessage,
  type FixField,
  type FixMessage,
  fixTimestamp,
  isAdminType,
  MsgType,
  Tag,
} from "./codec.ts";
import { FixParser } from "./parser.ts";

export type ResendStep =
  | { kind: "resend"; original: FixMessage }
  | { kind: "gap-fill"; from: number; to: number };

/** The steps that answer a request for `begin..stop`, from the outbound store. */
export async function planResend(
  outbound: (seq: number) => Promise<Buffer | undefined>,
  begin: number,
  stop: number,
): Promise<ResendStep[]> {
  const steps: ResendStep[] = [];
  let gapStart: number | undefined;
  for (let seq = begin; seq <= stop; seq++) {
    const stored = await outbound(seq);
    const parsed = stored === undefined ? undefined : new FixParser().push(stored)[0];
    if (parsed?.kind !== "message" || isAdminType(parsed.message.msgType)) {
      gapStart ??= seq;
      continue;
    }
    if (gapStart !== undefined) steps.push({ kind: "gap-fill", from: gapStart, to: seq });
    gapStart = undefined;
    steps.push({ kind: "resend", original: parsed.message });
  }
  if (gapStart !== undefined) steps.push({ kind: "gap-fill", from: gapStart, to: stop + 1 });
  return steps;
}

/** Tags the resent copy takes from its new header rather than from the original. */
const REPLACED = new Set<number>([8, 9, 10, 35, 49, 56, 34, 52, 43, 122]);

/** `original` again under `header` (its own MsgSeqNum, a new SendingTime), PossDupFlag=Y. */
export function possDupCopy(
  original: FixMessage,
  header: readonly FixField[],
  now: number,
): Buffer {
  return encodeMessage([
    ...header,
    [Tag.PossDupFlag, "Y"],
    [Tag.OrigSendingTime, original.get(Tag.SendingTime) ?? fixTimestamp(now)],
    ...original.fields.filter(([tag]) => !REPLACED.has(tag)),
  ]);
}

/** A SequenceReset-GapFill under `header` (MsgSeqNum = first skipped) to NewSeqNo `to`. */
export function gapFillMessage(header: readonly FixField[], to: number, now: number): Buffer {
  return encodeMessage([
    ...header,
    [Tag.PossDupFlag, "Y"],
    [Tag.OrigSendingTime, fixTimestamp(now)],
    [Tag.GapFillFlag, "Y"],
    [Tag.NewSeqNo, String(to)],
  ]);
}

export interface ResendAnswer {
  /** The messages to write, in order: PossDup copies and gap fills. */
  writes: Buffer[];
  stop: number;
  resent: number[];
  gapFills: string[];
}

/** The answer to a ResendRequest for `begin..stop`, each message under a fresh header. */
export async function answerResend(
  outbound: (seq: number) => Promise<Buffer | undefined>,
  request: {
    begin: number;
    stop: number;
    header: (msgType: string, seq: number) => FixField[];
    now: number;
  },
): Promise<ResendAnswer> {
  const { begin, stop, header, now } = request;
  const answer: ResendAnswer = { writes: [], stop, resent: [], gapFills: [] };
  for (const step of await planResend(outbound, begin, stop)) {
    if (step.kind === "resend") {
      const seq = step.original.seqNum ?? 0;
      answer.writes.push(possDupCopy(step.original, header(step.original.msgType, seq), now));
      answer.resent.push(seq);
    } else {
      answer.writes.push(gapFillMessage(header(MsgType.SequenceReset, step.from), step.to, now));
      answer.gapFills.push(`${step.from}→${step.to}`);
    }
  }
  return answer;
}
