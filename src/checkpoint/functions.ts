/**
 * Functions and classes travel as source text (`Function.prototype.toString`) and are
 * re-created by evaluating that source in the target context. This module decides
 * whether a function can travel (not native, not bound, no closure over local state)
 * and turns its source into something evaluable.
 */
import { createRequire } from "node:module";
import type { Node, Options, Program } from "acorn";
import { functionName } from "./intrinsics.ts";
import { freeNames } from "./scope.ts";

let acornParse: ((input: string, options: Options) => Program) | undefined;

/**
 * acorn, loaded when the first function is encoded: a namespace of data never needs it,
 * and it is ~1.6 MiB of private memory and a few ms of start in every worker that loads
 * the codec.
 */
function parse(input: string, options: Options): Program {
  acornParse ??= (createRequire(import.meta.url)("acorn") as typeof import("acorn")).parse;
  return acornParse(input, options);
}

/** Why a value cannot be captured; the encoder turns it into an `Uncaptured` entry. */
export class Uncapturable extends Error {
  override name = "Uncapturable";
  /** Where in the top-level value the part sits (`config.socket`); set by the encoder. */
  path: string | undefined;
  constructor(reason: string, path?: string) {
    super(reason);
    this.path = path;
  }
}

/**
 * How the decoder evaluates a function source:
 * - `expression`: `(source)` is a function, arrow or class expression;
 * - `method` / `getter` / `setter`: `source` is an object-literal member (`m() {}`,
 *   `get x() {}`); it is evaluated inside `({ source })` and taken out again;
 * - `derived`: a class whose `extends` clause was replaced by a parameter, so the decoder
 *   can supply the restored superclass (see `superclass` on the node).
 */
export type SourceForm = "expression" | "method" | "getter" | "setter" | "derived";

export interface FunctionSource {
  form: SourceForm;
  source: string;
  /** The identifiers it reads from outside itself. */
  free: ReadonlySet<string>;
}

/** The parameter name that stands for the superclass of a `derived` class source. */
export const SUPERCLASS_PARAM = "__capsuleSuperclass";

type ParsedNode = Node & Record<string, unknown>;

function tryParseExpression(source: string): ParsedNode | undefined {
  try {
    const program = parse(`(${source}\n)`, { ecmaVersion: "latest", sourceType: "script" });
    const statement = program.body[0];
    if (program.body.length !== 1 || statement?.type !== "ExpressionStatement") return undefined;
    return statement.expression as unknown as ParsedNode;
  } catch {
    return undefined;
  }
}

function tryParseMember(source: string): ParsedNode | undefined {
  try {
    const program = parse(`({${source}\n})`, { ecmaVersion: "latest", sourceType: "script" });
    const statement = program.body[0];
    if (statement?.type !== "ExpressionStatement") return undefined;
    const object = statement.expression;
    if (object.type !== "ObjectExpression" || object.properties.length !== 1) return undefined;
    return object.properties[0] as unknown as ParsedNode;
  } catch {
    return undefined;
  }
}

function isNativeSource(source: string): boolean {
  return /\{\s*\[native code\]\s*\}\s*$/.test(source);
}

/** What parsing a function's source tells, which never changes for that function. */
type Analysis =
  | { ok: true; result: FunctionSource; usesLexicalThis: boolean; staticPrivate: boolean }
  | { ok: false; reason: string };

/** Per function: its source never changes, so it is parsed once, not at every checkpoint. */
const analyses = new WeakMap<object, Analysis>();

function analyse(fn: (...args: never[]) => unknown): Analysis {
  const source = Function.prototype.toString.call(fn);
  if (isNativeSource(source)) {
    const name = functionName(fn);
    return {
      ok: false,
      reason: name.startsWith("bound ")
        ? `bound function "${name}" (its target and bound arguments are not visible)`
        : `native function "${name}"`,
    };
  }
  let form: SourceForm = "expression";
  let node = tryParseExpression(source);
  if (node === undefined) {
    const member = tryParseMember(source);
    if (member === undefined) return { ok: false, reason: "its source text does not parse" };
    form = member.kind === "get" ? "getter" : member.kind === "set" ? "setter" : "method";
    node = member.value as ParsedNode;
  }
  const { free, usesLexicalThis } = freeNames(node);
  const staticPrivate = node.type === "ClassExpression" && privateMembersOf(fn).staticState;
  const superClass = node.type === "ClassExpression" ? (node.superClass as Node | null) : null;
  if (superClass !== null && form === "expression") {
    // Offsets are into `(${source}\n)`: one character of prefix.
    const rewritten =
      source.slice(0, superClass.start - 1) + SUPERCLASS_PARAM + source.slice(superClass.end - 1);
    return {
      ok: true,
      result: { form: "derived", source: rewritten, free },
      usesLexicalThis,
      staticPrivate,
    };
  }
  return { ok: true, result: { form, source, free }, usesLexicalThis, staticPrivate };
}

/**
 * Analyses a function and returns how to re-create it, or throws `Uncapturable`.
 * `isResolvable(name)` says whether a free name will resolve in the target context
 * (a namespace name, a global of the target, or a variable of its captured scopes).
 */
export function functionSource(
  fn: (...args: never[]) => unknown,
  isResolvable: (name: string) => boolean,
  /** Why closures cannot be read here, if they cannot (added to the reason). */
  closuresUnavailable?: string,
): FunctionSource {
  let analysis = analyses.get(fn);
  if (analysis === undefined) {
    analysis = analyse(fn);
    analyses.set(fn, analysis);
  }
  if (!analysis.ok) throw new Uncapturable(analysis.reason);
  if (analysis.usesLexicalThis) {
    throw new Uncapturable("arrow function uses the `this`/`arguments` of its enclosing function");
  }
  for (const name of analysis.result.free) {
    if (!isResolvable(name)) {
      throw new Uncapturable(
        closuresUnavailable === undefined
          ? `closes over local variable "${name}"`
          : `closes over local variable "${name}" (closures cannot be read: ${closuresUnavailable})`,
      );
    }
  }
  if (analysis.staticPrivate) {
    throw new Uncapturable("class with static #private fields, whose values cannot be read");
  }
  return analysis.result;
}

export interface PrivateMembers {
  /** Instance `#fields`/`#methods`: instances carry hidden state or a hidden brand. */
  instance: boolean;
  /** `static #fields`: the class itself holds state that re-evaluation would reset. */
  staticState: boolean;
}

const privateMembersCache = new WeakMap<object, PrivateMembers>();

/** Which `#private` members a class declares (none for plain functions). */
export function privateMembersOf(cls: (...args: never[]) => unknown): PrivateMembers {
  const cached = privateMembersCache.get(cls);
  if (cached !== undefined) return cached;
  const node = tryParseExpression(Function.prototype.toString.call(cls));
  const members =
    node?.type === "ClassExpression"
      ? ((node.body as ParsedNode).body as ParsedNode[])
      : ([] as ParsedNode[]);
  const isPrivate = (member: ParsedNode) =>
    (member.key as Node | undefined)?.type === "PrivateIdentifier";
  const result: PrivateMembers = {
    instance: members.some((member) => isPrivate(member) && member.static !== true),
    staticState: members.some(
      (member) =>
        isPrivate(member) && member.static === true && member.type === "PropertyDefinition",
    ),
  };
  privateMembersCache.set(cls, result);
  return result;
}
