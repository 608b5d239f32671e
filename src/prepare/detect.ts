/**
 * Mode detection on the parsed cell (see DESIGN.md, "Execution modes and executors").
 * Priority: blocking_sync, then top_level_await, then async_def, else simple_sync.
 */
import type { AnyNode, CallExpression, Expression, Program } from "acorn";
import { ancestor, simple } from "acorn-walk";
import type { ExecutionMode } from "../protocol/messages.ts";
import { resultStatement } from "./result.ts";

export interface CellShape {
  /** A call that blocks the thread, or a loop with no exit condition, anywhere in the cell. */
  blocking: boolean;
  /** `await` / `for await` outside any function, or an import declaration: needs an async wrapper. */
  topLevelAwait: boolean;
  /** The last statement is an expression that is statically a promise. */
  valueIsPromise: boolean;
  /**
   * Straight-line code: no loop, call, `new`, tagged template or `await` of its own, so it
   * cannot run long unless an implicit call (a getter, `valueOf`) does; the worker may
   * skip V8's per-run timeout watchdog for it (the host's deadline still applies).
   */
  bounded: boolean;
}

const PROMISE_COMBINATORS = new Set([
  "all",
  "any",
  "race",
  "allSettled",
  "resolve",
  "reject",
  "try",
]);
const PROMISE_CHAIN_METHODS = new Set(["then", "catch", "finally"]);

/** `free`: names the cell uses without declaring them (so `input` is the runtime's, not the cell's). */
export function shapeOf(
  program: Program,
  free: ReadonlySet<string>,
  positionsPreserved: boolean,
): CellShape {
  let blocking = false;
  let topLevelAwait = program.body.some((statement) => statement.type === "ImportDeclaration");
  let bounded = !topLevelAwait;
  const unbounded = () => {
    bounded = false;
  };
  simple(program, {
    CallExpression: unbounded,
    NewExpression: unbounded,
    TaggedTemplateExpression: unbounded,
    WhileStatement: unbounded,
    DoWhileStatement: unbounded,
    ForStatement: unbounded,
    ForInStatement: unbounded,
    ForOfStatement: unbounded,
    AwaitExpression: unbounded,
    YieldExpression: unbounded,
  });
  ancestor(program, {
    CallExpression(node, _state, ancestors) {
      if (isBlockingCall(node, ancestors, free)) blocking = true;
    },
    WhileStatement(node) {
      if (constantTruthiness(node.test) === true) blocking = true;
    },
    DoWhileStatement(node) {
      if (constantTruthiness(node.test) === true) blocking = true;
    },
    ForStatement(node) {
      if (!node.test || constantTruthiness(node.test) === true) blocking = true;
    },
    AwaitExpression(_node, _state, ancestors) {
      if (!ancestors.some(isFunction)) topLevelAwait = true;
    },
    ForOfStatement(node, _state, ancestors) {
      if (node.await && !ancestors.some(isFunction)) topLevelAwait = true;
    },
  });
  const result = resultStatement(program, positionsPreserved);
  const valueIsPromise =
    result?.type === "ExpressionStatement" &&
    isStaticallyPromise(result.expression, asyncFunctionNames(program));
  return { blocking, topLevelAwait, valueIsPromise, bounded };
}

export function modeOf(shape: CellShape): ExecutionMode {
  if (shape.blocking) return "blocking_sync";
  if (shape.topLevelAwait) return "top_level_await";
  if (shape.valueIsPromise) return "async_def";
  return "simple_sync";
}

function isFunction(node: AnyNode): boolean {
  return (
    node.type === "FunctionDeclaration" ||
    node.type === "FunctionExpression" ||
    node.type === "ArrowFunctionExpression"
  );
}

function calleeName(call: CallExpression): string | undefined {
  const callee = call.callee;
  if (callee.type === "Identifier") return callee.name;
  if (callee.type !== "MemberExpression") return undefined;
  if (!callee.computed && callee.property.type === "Identifier") return callee.property.name;
  if (callee.property.type === "Literal" && typeof callee.property.value === "string") {
    return callee.property.value;
  }
  return undefined;
}

function isBlockingCall(
  call: CallExpression,
  ancestors: AnyNode[],
  free: ReadonlySet<string>,
): boolean {
  const name = calleeName(call);
  if (name === undefined) return false;
  if (name.endsWith("Sync")) return true;
  const callee = call.callee;
  if (name === "wait" && callee.type === "MemberExpression") {
    return callee.object.type === "Identifier" && callee.object.name === "Atomics";
  }
  if (name === "input" && callee.type === "Identifier" && free.has("input")) {
    // ancestors ends with the call itself; an awaited input() is the async kind.
    const parent = ancestors[ancestors.length - 2];
    return parent?.type !== "AwaitExpression";
  }
  return false;
}

/** true / false when a loop test is a constant, undefined when it depends on the program. */
export function constantTruthiness(node: Expression): boolean | undefined {
  switch (node.type) {
    case "Literal":
      return node.value === null ? false : Boolean(node.value) || "regex" in node;
    case "ArrayExpression":
    case "ObjectExpression":
    case "FunctionExpression":
    case "ArrowFunctionExpression":
    case "ClassExpression":
      return true;
    case "TemplateLiteral":
      if (node.expressions.length > 0) return undefined;
      return node.quasis.some((quasi) => (quasi.value.cooked ?? "").length > 0);
    case "UnaryExpression": {
      if (node.operator === "void") return false;
      const inner = constantTruthiness(node.argument);
      if (node.operator === "!") return inner === undefined ? undefined : !inner;
      return undefined;
    }
    case "SequenceExpression": {
      const last = node.expressions[node.expressions.length - 1];
      return last ? constantTruthiness(last) : undefined;
    }
    case "LogicalExpression": {
      const left = constantTruthiness(node.left);
      const right = constantTruthiness(node.right);
      if (node.operator === "&&") return left === false ? false : left && right;
      if (node.operator === "||") return left === true ? true : left === false ? right : undefined;
      return undefined;
    }
    default:
      return undefined;
  }
}

/** Async functions the cell declares at its top level, by the name they are called with. */
function asyncFunctionNames(program: Program): Set<string> {
  const names = new Set<string>();
  for (const statement of program.body) {
    if (statement.type === "FunctionDeclaration" && statement.async) names.add(statement.id.name);
    if (statement.type !== "VariableDeclaration") continue;
    for (const declarator of statement.declarations) {
      const init = declarator.init;
      const isAsyncFunction =
        (init?.type === "ArrowFunctionExpression" || init?.type === "FunctionExpression") &&
        init.async;
      if (isAsyncFunction && declarator.id.type === "Identifier") names.add(declarator.id.name);
    }
  }
  return names;
}

function isStaticallyPromise(node: Expression, asyncFunctions: ReadonlySet<string>): boolean {
  switch (node.type) {
    case "SequenceExpression": {
      const last = node.expressions[node.expressions.length - 1];
      return last !== undefined && isStaticallyPromise(last, asyncFunctions);
    }
    case "ConditionalExpression":
      return (
        isStaticallyPromise(node.consequent, asyncFunctions) &&
        isStaticallyPromise(node.alternate, asyncFunctions)
      );
    case "NewExpression":
      return node.callee.type === "Identifier" && node.callee.name === "Promise";
    case "CallExpression": {
      const callee = node.callee;
      if (callee.type === "Identifier") return asyncFunctions.has(callee.name);
      if (callee.type === "ArrowFunctionExpression" || callee.type === "FunctionExpression") {
        return callee.async;
      }
      if (callee.type !== "MemberExpression" || callee.computed) return false;
      if (callee.property.type !== "Identifier") return false;
      const method = callee.property.name;
      if (PROMISE_CHAIN_METHODS.has(method)) return true;
      return (
        callee.object.type === "Identifier" &&
        callee.object.name === "Promise" &&
        PROMISE_COMBINATORS.has(method)
      );
    }
    default:
      return false;
  }
}
