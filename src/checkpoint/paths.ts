/**
 * Where a value sits inside a top-level value, built lazily: a link per step, rendered
 * to text (`config.db["a b"][3]`) only when something there cannot be captured.
 */
export type Step = string | symbol | number | { label: string };
export type Path = string | { parent: Path; step: Step };

export function link(parent: Path, step: Step): Path {
  return { parent, step };
}

export function renderPath(path: Path): string {
  if (typeof path === "string") return path;
  const base = renderPath(path.parent);
  const step = path.step;
  if (typeof step === "number") return `${base}[${step}]`;
  if (typeof step === "symbol") return `${base}[${String(step)}]`;
  if (typeof step === "object") return `${base}${step.label}`;
  return /^[A-Za-z_$][\w$]*$/.test(step) ? `${base}.${step}` : `${base}[${JSON.stringify(step)}]`;
}

const INDEX_KEY = /^(?:0|[1-9]\d*)$/;

/** Whether a property key is an array index (`"0"`, `"17"`, not `"01"`). */
export function isIndexKey(key: string | symbol): boolean {
  return typeof key === "string" && INDEX_KEY.test(key) && Number(key) < 4294967295;
}
