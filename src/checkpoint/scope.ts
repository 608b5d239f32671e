/**
 * Free-identifier analysis of one function's source: which names it reads from outside
 * itself, and whether an arrow function depends on its enclosing `this`. A function whose
 * free names are all namespace names or target-context globals can be re-created from its
 * source text; anything else was a closure over state the checkpoint cannot see.
 */
import type { Node } from "acorn";

interface Scope {
  readonly declared: Set<string>;
  readonly parent: Scope | undefined;
}

export interface FreeNames {
  /** Identifiers read but not declared anywhere inside the analysed node. */
  free: Set<string>;
  /** An arrow at the outermost level uses `this`, `arguments`, `super` or `new.target`. */
  usesLexicalThis: boolean;
}

type AnyNode = Node & Record<string, unknown>;

function isNode(value: unknown): value is AnyNode {
  return typeof value === "object" && value !== null && typeof (value as Node).type === "string";
}

function child(node: AnyNode, key: string): AnyNode | undefined {
  const value = node[key];
  return isNode(value) ? value : undefined;
}

function children(node: AnyNode, key: string): AnyNode[] {
  const value = node[key];
  return Array.isArray(value) ? value.filter(isNode) : [];
}

/** Names bound by a binding pattern (`a`, `{ a, b: [c] }`, `...rest`, `x = 1`). */
function patternNames(pattern: AnyNode | undefined, out: string[]): void {
  if (pattern === undefined) return;
  switch (pattern.type) {
    case "Identifier":
      out.push(pattern.name as string);
      return;
    case "ObjectPattern":
      for (const property of children(pattern, "properties")) {
        patternNames(
          property.type === "RestElement" ? child(property, "argument") : child(property, "value"),
          out,
        );
      }
      return;
    case "ArrayPattern":
      for (const element of children(pattern, "elements")) patternNames(element, out);
      return;
    case "RestElement":
      patternNames(child(pattern, "argument"), out);
      return;
    case "AssignmentPattern":
      patternNames(child(pattern, "left"), out);
      return;
  }
}

/** Default values and computed keys inside a pattern are expressions that read names. */
function patternExpressions(pattern: AnyNode | undefined, out: AnyNode[]): void {
  if (pattern === undefined) return;
  switch (pattern.type) {
    case "ObjectPattern":
      for (const property of children(pattern, "properties")) {
        if (property.type === "RestElement") patternExpressions(child(property, "argument"), out);
        else {
          if (property.computed === true) out.push(child(property, "key") as AnyNode);
          patternExpressions(child(property, "value"), out);
        }
      }
      return;
    case "ArrayPattern":
      for (const element of children(pattern, "elements")) patternExpressions(element, out);
      return;
    case "RestElement":
      patternExpressions(child(pattern, "argument"), out);
      return;
    case "AssignmentPattern":
      patternExpressions(child(pattern, "left"), out);
      out.push(child(pattern, "right") as AnyNode);
      return;
    case "MemberExpression":
      // Assignment targets like `[obj.x] = …` read `obj`.
      out.push(pattern);
      return;
  }
}

/**
 * Declarations hoisted into a scope: `var` and function declarations to the function body
 * (not crossing nested functions), `let`/`const`/`class` to their block. Over-approximating
 * by also adding block-level `var`s to the block is harmless: it can only hide a free
 * name that is also declared inside the function.
 */
function collectDeclarations(body: AnyNode[], declared: Set<string>, functionLevel: boolean): void {
  const visit = (node: AnyNode, topOfBlock: boolean): void => {
    switch (node.type) {
      case "VariableDeclaration": {
        if (topOfBlock || node.kind === "var") {
          const names: string[] = [];
          for (const declarator of children(node, "declarations")) {
            patternNames(child(declarator, "id"), names);
          }
          for (const name of names) declared.add(name);
        }
        return;
      }
      case "FunctionDeclaration":
      case "ClassDeclaration": {
        const id = child(node, "id");
        if (topOfBlock && id !== undefined) declared.add(id.name as string);
        return;
      }
      case "FunctionExpression":
      case "ArrowFunctionExpression":
      case "ClassExpression":
        return;
    }
    if (!functionLevel) return;
    // Hoist `var` out of nested statements (if/for/try/blocks) up to the function level.
    for (const value of Object.values(node)) {
      if (Array.isArray(value)) for (const item of value) if (isNode(item)) visit(item, false);
      if (isNode(value)) visit(value, false);
    }
  };
  for (const statement of body) visit(statement, true);
}

/** Computes the free identifiers of a parsed function, arrow or class node. */
export function freeNames(root: AnyNode): FreeNames {
  const free = new Set<string>();
  let usesLexicalThis = false;

  const isDeclared = (name: string, scope: Scope | undefined): boolean => {
    for (let s = scope; s !== undefined; s = s.parent) if (s.declared.has(name)) return true;
    return false;
  };

  // `arrowDepth` is true while we are inside arrows only (no intervening normal function),
  // starting from the root arrow: there `this` belongs to the enclosing, lost scope.
  const walk = (node: AnyNode | undefined, scope: Scope | undefined, arrowOnly: boolean): void => {
    if (node === undefined) return;
    switch (node.type) {
      case "Identifier":
        if (isDeclared(node.name as string, scope)) return;
        // An arrow's `arguments` belongs to its enclosing function, like `this`.
        if (node.name === "arguments" && arrowOnly) usesLexicalThis = true;
        else free.add(node.name as string);
        return;
      case "ThisExpression":
      case "Super":
      case "MetaProperty":
        if (arrowOnly) usesLexicalThis = true;
        return;
      case "MemberExpression":
        walk(child(node, "object"), scope, arrowOnly);
        if (node.computed === true) walk(child(node, "property"), scope, arrowOnly);
        return;
      case "Property":
      case "MethodDefinition":
      case "PropertyDefinition":
        if (node.computed === true) walk(child(node, "key"), scope, arrowOnly);
        if (node.type === "Property" && node.shorthand === true && node.value === node.key) {
          walk(child(node, "key"), scope, arrowOnly);
          return;
        }
        // Class field initialisers and methods get their own `this`.
        walk(child(node, "value"), scope, node.type === "Property" ? arrowOnly : false);
        return;
      case "LabeledStatement":
        walk(child(node, "body"), scope, arrowOnly);
        return;
      case "BreakStatement":
      case "ContinueStatement":
        return;
      case "FunctionDeclaration":
      case "FunctionExpression":
      case "ArrowFunctionExpression": {
        const declared = new Set<string>();
        const params = children(node, "params");
        const names: string[] = [];
        for (const param of params) patternNames(param, names);
        for (const name of names) declared.add(name);
        const isArrow = node.type === "ArrowFunctionExpression";
        if (!isArrow) declared.add("arguments");
        const id = child(node, "id");
        if (id !== undefined && node.type === "FunctionExpression") declared.add(id.name as string);
        const body = child(node, "body");
        if (body?.type === "BlockStatement") {
          collectDeclarations(children(body, "body"), declared, true);
        }
        const inner: Scope = { declared, parent: scope };
        const innerArrowOnly = isArrow && arrowOnly;
        const defaults: AnyNode[] = [];
        for (const param of params) patternExpressions(param, defaults);
        for (const expression of defaults) walk(expression, inner, innerArrowOnly);
        if (body?.type === "BlockStatement") {
          for (const statement of children(body, "body")) walk(statement, inner, innerArrowOnly);
        } else walk(body, inner, innerArrowOnly);
        return;
      }
      case "ClassDeclaration":
      case "ClassExpression": {
        walk(child(node, "superClass"), scope, arrowOnly);
        const declared = new Set<string>();
        const id = child(node, "id");
        if (id !== undefined) declared.add(id.name as string);
        const inner: Scope = { declared, parent: scope };
        for (const member of children(child(node, "body") as AnyNode, "body")) {
          if (member.type === "StaticBlock") {
            const blockScope: Scope = { declared: new Set(), parent: inner };
            collectDeclarations(children(member, "body"), blockScope.declared, true);
            for (const statement of children(member, "body")) walk(statement, blockScope, false);
          } else walk(member, inner, arrowOnly);
        }
        return;
      }
      case "BlockStatement":
      case "StaticBlock": {
        const declared = new Set<string>();
        collectDeclarations(children(node, "body"), declared, false);
        const inner: Scope = { declared, parent: scope };
        for (const statement of children(node, "body")) walk(statement, inner, arrowOnly);
        return;
      }
      case "ForStatement":
      case "ForInStatement":
      case "ForOfStatement": {
        const declared = new Set<string>();
        const head = child(node, node.type === "ForStatement" ? "init" : "left");
        if (head?.type === "VariableDeclaration") {
          for (const declarator of children(head, "declarations")) {
            const names: string[] = [];
            patternNames(child(declarator, "id"), names);
            for (const name of names) declared.add(name);
          }
        }
        const inner: Scope = { declared, parent: scope };
        for (const [key, value] of Object.entries(node)) {
          if (key === "type") continue;
          if (isNode(value)) walk(value, inner, arrowOnly);
        }
        return;
      }
      case "CatchClause": {
        const names: string[] = [];
        patternNames(child(node, "param"), names);
        const inner: Scope = { declared: new Set(names), parent: scope };
        const defaults: AnyNode[] = [];
        patternExpressions(child(node, "param"), defaults);
        for (const expression of defaults) walk(expression, inner, arrowOnly);
        walk(child(node, "body"), inner, arrowOnly);
        return;
      }
      case "VariableDeclarator": {
        const defaults: AnyNode[] = [];
        patternExpressions(child(node, "id"), defaults);
        for (const expression of defaults) walk(expression, scope, arrowOnly);
        walk(child(node, "init"), scope, arrowOnly);
        return;
      }
      case "AssignmentExpression": {
        const left = child(node, "left");
        if (left?.type === "ObjectPattern" || left?.type === "ArrayPattern") {
          const targets: string[] = [];
          patternNames(left, targets);
          for (const name of targets) if (!isDeclared(name, scope)) free.add(name);
          const expressions: AnyNode[] = [];
          patternExpressions(left, expressions);
          for (const expression of expressions) walk(expression, scope, arrowOnly);
        } else walk(left, scope, arrowOnly);
        walk(child(node, "right"), scope, arrowOnly);
        return;
      }
    }
    for (const [key, value] of Object.entries(node)) {
      if (key === "type") continue;
      if (Array.isArray(value))
        for (const item of value) if (isNode(item)) walk(item, scope, arrowOnly);
      if (isNode(value)) walk(value, scope, arrowOnly);
    }
  };

  walk(root, undefined, root.type === "ArrowFunctionExpression");
  return { free, usesLexicalThis };
}
