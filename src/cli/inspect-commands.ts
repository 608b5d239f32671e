/**
 * The read commands: `ls` (executions and named sessions), `show ID` (cells, outputs and
 * results in order) and `tree ID` (the call graph of durable promises with their states).
 * Each prints a human view, or with `--json` the store's view as JSON.
 *
 * Besides what the durable layer answers directly, `show session/<name>/<n>` shows that
 * one cell, and `tree <name>` (or `tree session/<name>`) draws a named session as a root
 * whose children are its cells' trees.
 */
import type { Capsule, ShowView, TreeNode } from "../../durable/index.ts";
import { CapsuleError, isCapsuleError } from "../errors.ts";
import { formatListing, formatShow, formatTree, toJson } from "./format.ts";
import { type StoreOptions, storeDir, storeExists, withStore } from "./store.ts";
import { createStyle, useColor } from "./terminal.ts";

export interface ReadOptions extends StoreOptions {
  json?: boolean;
}

const SESSION_CELL = /^session\/([^/]+)\/(\d+)$/;

function print(options: ReadOptions, data: unknown, human: () => string): void {
  process.stdout.write(`${options.json === true ? toJson(data) : human()}\n`);
}

function isNotFound(error: unknown): boolean {
  return isCapsuleError(error) && error.code === "DURABLE_NOT_FOUND";
}

function requireStore(options: ReadOptions, id: string): void {
  if (!storeExists(options)) {
    throw new CapsuleError(
      "DURABLE_NOT_FOUND",
      `no execution or session named ${id}: there is no store in ${storeDir(options)}`,
    );
  }
}

export async function listCommand(options: ReadOptions): Promise<void> {
  const listing = storeExists(options)
    ? await withStore(options, (capsule) => capsule.list())
    : { executions: [], sessions: [] };
  print(options, listing, () => formatListing(listing, createStyle(useColor())));
}

async function showOne(capsule: Capsule, id: string): Promise<ShowView> {
  const cell = SESSION_CELL.exec(id);
  if (cell === null) return capsule.show(id);
  const session = await capsule.show(`session/${cell[1]}`);
  const found = session.cells.find((each) => each.id === id);
  if (found === undefined) return capsule.show(id); // the store's own not-found error
  return { id, kind: "session", state: found.state, cells: [found] };
}

export async function showCommand(id: string, options: ReadOptions): Promise<void> {
  requireStore(options, id);
  const view = await withStore(options, (capsule) => showOne(capsule, id));
  print(options, view, () => formatShow(view, createStyle(useColor())));
}

async function treeOf(capsule: Capsule, id: string): Promise<TreeNode> {
  try {
    return await capsule.tree(id);
  } catch (error) {
    if (!isNotFound(error)) throw error;
    // Not an execution: maybe a named session, drawn as its cells' trees.
    const session = await capsule.show(id).catch((showError: unknown) => {
      throw isNotFound(showError) ? error : showError;
    });
    if (session.kind !== "session") throw error;
    const children: TreeNode[] = [];
    for (const cell of session.cells) children.push(await capsule.tree(cell.id));
    return { id: session.id, state: session.state, label: "session", children };
  }
}

export async function treeCommand(id: string, options: ReadOptions): Promise<void> {
  requireStore(options, id);
  const root = await withStore(options, (capsule) => treeOf(capsule, id));
  print(options, root, () => formatTree(root, createStyle(useColor())));
}
