/**
 * The read commands: `ls` (executions and named sessions), `show ID` (cells, outputs and
 * results in order) and `tree ID` (the call graph of durable promises with their states).
 * Each prints a human view, or with `--json` the store's view as JSON.
 */
import { formatListing, formatShow, formatTree, toJson } from "./format.ts";
import { type StoreOptions, withStore } from "./store.ts";
import { createStyle, useColor } from "./terminal.ts";

export interface ReadOptions extends StoreOptions {
  json?: boolean;
}

function print(options: ReadOptions, data: unknown, human: () => string): void {
  process.stdout.write(`${options.json === true ? toJson(data) : human()}\n`);
}

export async function listCommand(options: ReadOptions): Promise<void> {
  const listing = await withStore(options, (capsule) => capsule.list());
  print(options, listing, () => formatListing(listing, createStyle(useColor())));
}

export async function showCommand(id: string, options: ReadOptions): Promise<void> {
  const view = await withStore(options, (capsule) => capsule.show(id));
  print(options, view, () => formatShow(view, createStyle(useColor())));
}

export async function treeCommand(id: string, options: ReadOptions): Promise<void> {
  const root = await withStore(options, (capsule) => capsule.tree(id));
  print(options, root, () => formatTree(root, createStyle(useColor())));
}
