/**
 * Text edits by offset into the original source, applied in one pass. Edits at the same
 * offset keep the order they were made in, so a caller can rely on "first inserted, first
 * emitted" when several wrappers open or close at one point.
 */
interface Edit {
  start: number;
  end: number;
  text: string;
  order: number;
}

export class SourceEdits {
  private readonly edits: Edit[] = [];
  private readonly source: string;

  constructor(source: string) {
    this.source = source;
  }

  insert(offset: number, text: string): void {
    this.replace(offset, offset, text);
  }

  replace(start: number, end: number, text: string): void {
    this.edits.push({ start, end, text, order: this.edits.length });
  }

  apply(): string {
    const sorted = [...this.edits].sort((a, b) => a.start - b.start || a.order - b.order);
    let out = "";
    let cursor = 0;
    for (const edit of sorted) {
      if (edit.start < cursor) throw new Error(`overlapping source edits at offset ${edit.start}`);
      out += this.source.slice(cursor, edit.start) + edit.text;
      cursor = edit.end;
    }
    return out + this.source.slice(cursor);
  }
}

/** The newlines inside `text`, so a one-line replacement can keep later lines in place. */
export function newlinesIn(text: string): string {
  return text.replace(/[^\n]/g, "");
}
