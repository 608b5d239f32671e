/**
 * The harness's bookkeeping: one row per fault (injected, survived, lost, slowest
 * recovery) plus the invariant violations found, printed as a table and written as JSON.
 */
import fs from "node:fs";

export interface FigureRow {
  fault: string;
  injected: number;
  survived: number;
  /** Work lost: a wrong result, a recorded step run again, a namespace not restored. */
  lost: number;
  /** Slowest recovery observed, in ms (restart to progress, or fault to next answer). */
  maxRecoveryMs: number;
}

export class Figures {
  readonly rows = new Map<string, FigureRow>();
  readonly violations: string[] = [];

  row(fault: string): FigureRow {
    let row = this.rows.get(fault);
    if (row === undefined) {
      row = { fault, injected: 0, survived: 0, lost: 0, maxRecoveryMs: 0 };
      this.rows.set(fault, row);
    }
    return row;
  }

  /** One injection of `fault`: survived unless `violation` says what went wrong. */
  record(fault: string, outcome: { recoveryMs?: number; violation?: string }): void {
    const row = this.row(fault);
    row.injected++;
    if (outcome.violation === undefined) row.survived++;
    else {
      row.lost++;
      this.violations.push(`${fault}: ${outcome.violation}`);
    }
    if (outcome.recoveryMs !== undefined)
      row.maxRecoveryMs = Math.max(row.maxRecoveryMs, Math.round(outcome.recoveryMs));
  }

  violation(text: string): void {
    this.violations.push(text);
  }

  print(title: string): void {
    const header = ["fault", "injected", "survived", "lost", "max recovery ms"];
    const body = [...this.rows.values()].map((r) => [
      r.fault,
      String(r.injected),
      String(r.survived),
      String(r.lost),
      String(r.maxRecoveryMs),
    ]);
    const widths = header.map((h, i) =>
      Math.max(h.length, ...body.map((row) => row[i]?.length ?? 0)),
    );
    const line = (cells: string[]) =>
      `| ${cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join(" | ")} |`;
    console.log(`\n${title}`);
    console.log(line(header));
    console.log(
      `|${widths.map((w, i) => (i === 0 ? "-".repeat(w + 2) : `${"-".repeat(w + 1)}:`)).join("|")}|`,
    );
    for (const row of body) console.log(line(row));
    if (this.violations.length > 0) {
      console.log(`\n${this.violations.length} violation(s):`);
      for (const text of this.violations.slice(0, 50)) console.log(`  - ${text}`);
    }
  }

  write(file: string, extra: Record<string, unknown>): void {
    fs.writeFileSync(
      file,
      `${JSON.stringify({ ...extra, rows: [...this.rows.values()], violations: this.violations }, null, 2)}\n`,
    );
  }
}
