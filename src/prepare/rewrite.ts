/**
 * Rewrites a parsed cell so its top-level declarations become properties of the session
 * context's global object (the namespace) and its result is the value of its last
 * expression statement. Text is only ever added on existing lines, never as new lines,
 * so line numbers in stack traces are the user's own.
 *
 * Sync cells stay a plain script: top-level `let`/`const` become `var` (padded to keep
 * columns), classes become `var C = class C {...};`, and a cell that does not end in an
 * expression gets `;void 0` so its completion value is undefined.
 *
 * Async cells (top-level await, imports) become
 *   `var a, b; (async () => {this.f = f; ... return (lastExpression)})()`
 * with every declared name hoisted as a global `var` outside the wrapper and each
 * declaration turned into an assignment to it. Function declarations stay in place (so
 * they are hoisted inside the cell) and are published at the start through the arrow's
 * lexical `this`, which at script level is the context's global object.
 */
import type {
  AnyNode,
  ClassDeclaration,
  ImportDeclaration,
  Program,
  Statement,
  VariableDeclaration,
} from "acorn";
import { ancestor } from "acorn-walk";
import { newlinesIn, SourceEdits } from "./edits.ts";
import { importExpression } from "./imports.ts";
import { resultStatement } from "./result.ts";
import { hoistedVarNames, lexicalNames, type ScopeAnalysis } from "./scope.ts";

export function rewriteSync(program: Program, js: string, positionsPreserved: boolean): string {
  const edits = new SourceEdits(js);
  for (const statement of program.body) {
    if (statement.type === "VariableDeclaration" && statement.kind !== "var") {
      edits.replace(
        statement.start,
        statement.start + statement.kind.length,
        "var".padEnd(statement.kind.length),
      );
      // `let x;` run again must reset x, which `var x;` alone would not.
      for (const declarator of statement.declarations) {
        if (!declarator.init) edits.insert(declarator.id.end, " = void 0");
      }
    } else if (statement.type === "ClassDeclaration") {
      edits.insert(statement.start, `var ${statement.id.name} = `);
      edits.insert(statement.end, ";");
    }
  }
  const last = program.body[program.body.length - 1];
  const result = resultStatement(program, positionsPreserved);
  // Statements after `result` are only bare `var`s, which leave the completion value alone.
  if (last && result?.type !== "ExpressionStatement") edits.insert(last.end, ";void 0");
  return edits.apply();
}

export function rewriteAsync(
  program: Program,
  js: string,
  scopes: ScopeAnalysis,
  positionsPreserved: boolean,
): string {
  const edits = new SourceEdits(js);
  const declared = scopes.declared;
  const hoisted = declared.length > 0 ? `var ${declared.join(", ")}; ` : "";
  edits.insert(0, `${hoisted}(async () => {`);
  publishFunctions(program, edits, rebindableFunctions(program, scopes));
  for (const statement of program.body) {
    if (statement.type === "ClassDeclaration") classToAssignment(statement, edits);
    if (statement.type === "ImportDeclaration") importToAssignment(statement, js, edits);
  }
  declarationsToAssignments(program, edits);
  const last = program.body[program.body.length - 1];
  const result = resultStatement(program, positionsPreserved);
  if (result?.type === "ExpressionStatement") {
    // `return (` goes right after the previous statement (or the wrapper), not before the
    // expression: when the expression starts a later line its columns stay the user's.
    // The `;` ends a previous statement written without one (ASI would have). V8 places
    // an error in a returned expression's first operand at the `return` itself, so the
    // operand is a `void 0,` of ours and the user's expression keeps its own position.
    const index = program.body.indexOf(result);
    const previous = index > 0 ? program.body[index - 1] : undefined;
    const opening = "return (void 0, ";
    edits.insert(previous ? previous.end : 0, previous ? `;${opening}` : opening);
    // The statement, not the expression: `(a)` parses as an expression starting after `(`.
    const end = js.charAt(result.end - 1) === ";" ? result.end - 1 : result.end;
    edits.insert(end, ")");
  }
  edits.insert(last ? last.end : js.length, "})()");
  return edits.apply();
}

/**
 * Top-level functions whose name the cell also assigns or declares again: keeping the
 * declaration would leave those writes on the cell's local binding, so they become
 * `f = function f() {}` assignments instead (the one case where a function is not hoisted
 * within its cell).
 */
function rebindableFunctions(program: Program, scopes: ScopeAnalysis): Set<string> {
  const declarations = [...lexicalNames(program.body), ...hoistedVarNames(program)];
  const rebindable = new Set<string>();
  for (const statement of program.body) {
    if (statement.type !== "FunctionDeclaration") continue;
    const name = statement.id.name;
    const declaredAgain = declarations.filter((declaredName) => declaredName === name).length > 1;
    if (declaredAgain || scopes.reassignedDeclared.includes(name)) rebindable.add(name);
  }
  return rebindable;
}

/**
 * `this.f = f;` for each top-level function, after the directive prologue ("use strict"),
 * so the namespace has it from the cell's first line; `rebindable` ones become assignments.
 */
function publishFunctions(
  program: Program,
  edits: SourceEdits,
  rebindable: ReadonlySet<string>,
): void {
  const names: string[] = [];
  for (const statement of program.body) {
    if (statement.type !== "FunctionDeclaration") continue;
    if (rebindable.has(statement.id.name)) {
      edits.insert(statement.start, `${statement.id.name} = `);
      edits.insert(statement.end, ";");
    } else {
      names.push(statement.id.name);
    }
  }
  if (names.length === 0) return;
  let offset = 0;
  for (const statement of program.body) {
    if (!isDirective(statement)) break;
    offset = statement.end;
  }
  // The leading `;` ends a directive written without one ("use strict"\n...).
  edits.insert(offset, `;${names.map((name) => `this.${name} = ${name};`).join(" ")}`);
}

function isDirective(statement: Statement | AnyNode): boolean {
  return (
    statement.type === "ExpressionStatement" &&
    "directive" in statement &&
    typeof statement.directive === "string"
  );
}

function classToAssignment(statement: ClassDeclaration, edits: SourceEdits): void {
  edits.insert(statement.start, `${statement.id.name} = `);
  edits.insert(statement.end, ";");
}

function importToAssignment(statement: ImportDeclaration, js: string, edits: SourceEdits): void {
  const original = js.slice(statement.start, statement.end);
  edits.replace(
    statement.start,
    statement.end,
    `void ${importExpression(statement)};${newlinesIn(original)}`,
  );
}

/**
 * Every top-level declaration, and every `var` not inside a function, becomes an
 * assignment to the hoisted global. Declarations nested in blocks with let/const/class
 * keep their block scope (they do not leak), as do all declarations inside functions.
 */
function declarationsToAssignments(program: Program, edits: SourceEdits): void {
  ancestor(program, {
    VariableDeclaration(node, _state, ancestors) {
      const owners = ancestors.slice(0, -1);
      if (owners.some(isFunctionOrClass)) return;
      const parent = owners[owners.length - 1];
      if (node.kind !== "var" && parent !== program) return;
      const inLoopHead =
        (parent?.type === "ForStatement" && parent.init === node) ||
        ((parent?.type === "ForInStatement" || parent?.type === "ForOfStatement") &&
          parent.left === node);
      if (inLoopHead)
        edits.replace(node.start, node.start + node.kind.length, " ".repeat(node.kind.length));
      else statementToAssignment(node, edits);
    },
  });
}

function statementToAssignment(node: VariableDeclaration, edits: SourceEdits): void {
  // `void (` cannot continue the previous line's expression, so ASI still ends it there.
  edits.replace(node.start, node.start + node.kind.length, "void (");
  for (const declarator of node.declarations) {
    if (!declarator.init && node.kind !== "var") edits.insert(declarator.id.end, " = void 0");
  }
  const lastDeclarator = node.declarations[node.declarations.length - 1];
  edits.insert(lastDeclarator ? lastDeclarator.end : node.end, ")");
}

function isFunctionOrClass(node: AnyNode): boolean {
  return (
    node.type === "FunctionDeclaration" ||
    node.type === "FunctionExpression" ||
    node.type === "ArrowFunctionExpression" ||
    node.type === "ClassDeclaration" ||
    node.type === "ClassExpression"
  );
}
