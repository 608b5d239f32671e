/**
 * The kernel's input history, answered to `history_request`: every cell of the
 * notebook's durable session (read from the store when the kernel starts, so history
 * survives the kernel process like the namespace does), then the cells run since.
 */
import type { JsonObject } from "./wire.ts";

export interface HistoryEntry {
  /** The cell's execution count. */
  line: number;
  code: string;
  /** The result's text, when it had one. */
  output: string | null;
}

/** A glob (`*`, `?`) as IPython's history search reads it, matched against the whole input. */
function globRegExp(pattern: string): RegExp {
  const escaped = pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`^${escaped.replace(/\*/g, "[\\s\\S]*").replace(/\?/g, "[\\s\\S]")}$`);
}

export class History {
  readonly #entries: HistoryEntry[] = [];
  /** The `session` number entries are reported under (the session's generation). */
  readonly #session: number;

  constructor(session: number, recorded: HistoryEntry[]) {
    this.#session = session;
    this.#entries.push(...recorded);
  }

  add(entry: HistoryEntry): void {
    this.#entries.push(entry);
  }

  /** The `history` list of a history_reply for the request's content. */
  answer(content: JsonObject): unknown[] {
    const withOutput = content.output === true;
    const n = typeof content.n === "number" && content.n > 0 ? Math.floor(content.n) : undefined;
    let selected: HistoryEntry[];
    switch (content.hist_access_type) {
      case "range": {
        const start = typeof content.start === "number" ? content.start : 0;
        const stop = typeof content.stop === "number" ? content.stop : Number.POSITIVE_INFINITY;
        selected =
          content.session === undefined ||
          content.session === this.#session ||
          content.session === 0
            ? this.#entries.filter((entry) => entry.line >= start && entry.line < stop)
            : [];
        break;
      }
      case "search": {
        const pattern = globRegExp(typeof content.pattern === "string" ? content.pattern : "*");
        let matching = this.#entries.filter((entry) => pattern.test(entry.code));
        if (content.unique === true) {
          const seen = new Set<string>();
          matching = matching
            .reverse()
            .filter((entry) => !seen.has(entry.code) && seen.add(entry.code) !== undefined)
            .reverse();
        }
        selected = n === undefined ? matching : matching.slice(-n);
        break;
      }
      default:
        selected = n === undefined ? [...this.#entries] : this.#entries.slice(-n);
    }
    return selected.map((entry) => [
      this.#session,
      entry.line,
      withOutput ? [entry.code, entry.output] : entry.code,
    ]);
  }
}
