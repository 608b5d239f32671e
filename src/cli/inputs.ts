/**
 * `capsule inputs [--json]`: the questions durable cells are waiting on (`input()` with
 * nobody to answer), and `capsule answer <id> <value>`: answer one. The cell goes on in
 * whichever process runs its execution next (a restart runs it again and it gets the
 * answer at once). An id that is no pending question, or one already answered, exits 3.
 */
import type { PendingInput } from "../../durable/index.ts";
import { InputError } from "../errors.ts";
import { toJson } from "./format.ts";
import { type StoreOptions, storeDir, storeExists, withStore } from "./store.ts";

export interface InputsOptions extends StoreOptions {
  json?: boolean;
}

export async function inputsCommand(options: InputsOptions): Promise<void> {
  const pending: PendingInput[] = storeExists(options)
    ? await withStore(options, (capsule) => capsule.inputs())
    : [];
  if (options.json === true) {
    process.stdout.write(`${toJson(pending)}\n`);
    return;
  }
  if (pending.length === 0) {
    process.stdout.write("no questions waiting\n");
    return;
  }
  for (const question of pending) {
    const asked = new Date(question.createdAt).toISOString();
    process.stdout.write(
      `${question.id}\n  ${JSON.stringify(question.prompt)}  (execution ${question.execution}, session ${question.session}, asked ${asked})\n`,
    );
  }
}

export async function answerCommand(
  id: string,
  value: string,
  options: StoreOptions,
): Promise<void> {
  if (!storeExists(options)) {
    throw new InputError(
      "INPUT_NOT_PENDING",
      `${id} is not a pending input: there is no store in ${storeDir(options)}`,
    );
  }
  await withStore(options, (capsule) => capsule.answer(id, value));
  process.stdout.write(`answered ${id}\n`);
}
