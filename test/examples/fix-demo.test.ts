import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { runExample } from "./run-example.ts";

describe("examples/fix/demo.ts", () => {
  it("kills the initiator with SIGKILL, restarts it, repairs the gap by resend, and fills every order once", async () => {
    const run = await runExample("fix/demo.ts");
    expect(run.code, run.stderr).toBe(0);
    const out = run.stdout;
    expect(out).toMatch(/initiator │ ✖ kill -9 \d+ \(the acceptor has just received ord-5\)/);
    expect(out).toContain("initiator │ ended by SIGKILL");
    // The restarted initiator's numbers come from its store and continue.
    const last = Number(/the last MsgSeqNum it sent was (\d+)/.exec(out)?.[1]);
    const logon = Number(/sequence numbers continue: Logon is #(\d+)/.exec(out)?.[1]);
    expect(logon).toBeGreaterThan(last);
    expect(out).toMatch(/initiator │ store: next MsgSeqNum out [1-9]\d*, expected in [2-9]/);
    // The report the acceptor sent while the initiator was dead is asked for and resent.
    expect(out).toMatch(/initiator │ gap: expected MsgSeqNum \d+, received \d+/);
    expect(out).toMatch(/initiator │ → ResendRequest #\d+ BeginSeqNo=\d+ EndSeqNo=0/);
    expect(out).toMatch(/acceptor {2}│ → ExecutionReport #\d+ ord-5 ExecID=E-\w+ PossDupFlag=Y/);
    expect(out).toMatch(/acceptor {2}│ → SequenceReset #\d+ GapFill NewSeqNo=\d+ PossDupFlag=Y/);
    expect(out).toMatch(
      /acceptor {2}│ answered ResendRequest \d+\.\.\d+: resent #[\d, ]+; gap-filled \d+→\d+/,
    );
    expect(out).not.toMatch(/MsgSeqNum too low/);
    expect(out).toContain("12 of 12 orders have an ExecutionReport; 0 have two different ExecIDs");
    const stores = /stores: (\S+)/.exec(out)?.[1];
    expect(stores).toBeDefined();
    expect(fs.existsSync(stores ?? "")).toBe(false);
  });
});
