/** Shape checks for decoded checkpoint data: a failed check is `CHECKPOINT_INVALID`. */
import { invalidCheckpoint } from "./format.ts";

export type Mutable = Record<PropertyKey, unknown>;

export function expect(condition: boolean, detail: string): asserts condition {
  if (!condition) throw invalidCheckpoint(detail);
}

export function asArray(value: unknown, what: string): unknown[] {
  expect(Array.isArray(value), `${what} is not a list`);
  return value;
}

export function asString(value: unknown, what: string): string {
  expect(typeof value === "string", `${what} is not a string`);
  return value;
}

export function asNumber(value: unknown, what: string): number {
  expect(typeof value === "number", `${what} is not a number`);
  return value;
}
