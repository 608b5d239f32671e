/**
 * Scope analysis of a parsed cell: which names it declares at the top level (these
 * persist in the session namespace), which names it uses without declaring (globals or
 * namespace names: what a threaded executor must copy in), and which of those it assigns
 * (what must be merged back).
 */
import type {
  AnyNode,
  Class,
  Function as FunctionNode,
  Identifier,
  ModuleDeclaration,
  Pattern,
  Program,
  Statement,
} from "acorn";
import { type RecursiveVisitors, recursive } from "acorn-walk";

export interface ScopeAnalysis {
  declared: string[];
  free: string[];
  assigned: string[];
  /** Declared names the cell also assigns (`function f() {}` then `f = g`) somewhere. */
  reassignedDeclared: string[];
  /** Each declared name with the offset of its first declaration. */
  declaredAt: ReadonlyMap<string, number>;
  /** Each assigned free name with the offset of its first assignment. */
  assignedAt: ReadonlyMap<string, number>;
}

/** The names a binding pattern binds (`{a, b: [c], ...d}` binds a, c, d). */
export function patternNames(pattern: Pattern, out: string[] = []): string[] {
  for (const identifier of patternIdentifiers(pattern)) out.push(identifier.name);
  return out;
}

/** The identifiers a binding pattern binds, in source order. */
function patternIdentifiers(pattern: Pattern, out: Identifier[] = []): Identifier[] {
  switch (pattern.type) {
    case "Identifier":
      out.push(pattern);
      break;
    case "ObjectPattern":
      for (const property of pattern.properties) {
        patternIdentifiers(
          property.type === "RestElement" ? property.argument : property.value,
          out,
        );
      }
      break;
    case "ArrayPattern":
      for (const element of pattern.elements) if (element) patternIdentifiers(element, out);
      break;
    case "RestElement":
      patternIdentifiers(pattern.argument, out);
      break;
    case "AssignmentPattern":
      patternIdentifiers(pattern.left, out);
      break;
    case "MemberExpression":
      break;
  }
  return out;
}

/** `var` names hoisted to the function (or script) that owns `node`, not entering nested functions. */
export function hoistedVarNames(node: AnyNode): string[] {
  return hoistedVarIdentifiers(node).map((identifier) => identifier.name);
}

function hoistedVarIdentifiers(node: AnyNode): Identifier[] {
  const identifiers: Identifier[] = [];
  recursive(node, undefined, {
    Function() {},
    Class() {},
    VariableDeclaration(declaration, state, callback) {
      if (declaration.kind === "var") {
        for (const declarator of declaration.declarations) {
          patternIdentifiers(declarator.id, identifiers);
        }
      }
      for (const declarator of declaration.declarations) {
        if (declarator.init) callback(declarator.init, state);
      }
    },
  });
  return identifiers;
}

/** Names declared directly in a statement list by let/const/class/function/import. */
export function lexicalNames(statements: (Statement | ModuleDeclaration)[]): string[] {
  return lexicalIdentifiers(statements).map((identifier) => identifier.name);
}

function lexicalIdentifiers(statements: (Statement | ModuleDeclaration)[]): Identifier[] {
  const identifiers: Identifier[] = [];
  for (const statement of statements) {
    if (statement.type === "VariableDeclaration" && statement.kind !== "var") {
      for (const declarator of statement.declarations) {
        patternIdentifiers(declarator.id, identifiers);
      }
    } else if (statement.type === "FunctionDeclaration" || statement.type === "ClassDeclaration") {
      identifiers.push(statement.id);
    } else if (statement.type === "ImportDeclaration") {
      for (const specifier of statement.specifiers) identifiers.push(specifier.local);
    }
  }
  return identifiers;
}

/**
 * Top-level names of the cell (they become properties of the session's global object),
 * each with the offset of its first declaration.
 */
export function declarationSites(program: Program): Map<string, number> {
  const sites = new Map<string, number>();
  const identifiers = [...lexicalIdentifiers(program.body), ...hoistedVarIdentifiers(program)];
  for (const identifier of identifiers.sort((a, b) => a.start - b.start)) {
    if (!sites.has(identifier.name)) sites.set(identifier.name, identifier.start);
  }
  return sites;
}

class Scope {
  readonly names: Set<string>;
  readonly parent: Scope | undefined;
  constructor(names: Iterable<string>, parent: Scope | undefined) {
    this.names = new Set(names);
    this.parent = parent;
  }
  /** The scope that binds `name`, or undefined when it is free. */
  resolve(name: string): Scope | undefined {
    for (let scope: Scope | undefined = this; scope; scope = scope.parent) {
      if (scope.names.has(name)) return scope;
    }
    return undefined;
  }
}

/** `assigning`: identifiers met as patterns are assignment targets, not new bindings. */
interface WalkState {
  scope: Scope;
  assigning: boolean;
}

/**
 * acorn-walk's callback takes an optional third argument (the abstract type to walk the
 * node as, e.g. "Pattern"), which its own base walker relies on; its typings omit it, so
 * the visitors are typed here and handed over once with a cast.
 */
type Visit = (node: AnyNode, state: WalkState, walkAs?: string) => void;
type NodeOf<T extends AnyNode["type"]> = Extract<AnyNode, { type: T }>;
type Visitors = {
  [T in AnyNode["type"]]?: (node: NodeOf<T>, state: WalkState, visit: Visit) => void;
} & {
  VariablePattern?: (node: AnyNode, state: WalkState, visit: Visit) => void;
  Function?: (node: FunctionNode, state: WalkState, visit: Visit) => void;
  Class?: (node: Class, state: WalkState, visit: Visit) => void;
};

export function analyzeScopes(program: Program): ScopeAnalysis {
  const declaredAt = declarationSites(program);
  const declared = [...declaredAt.keys()];
  const free = new Set<string>();
  const assigned = new Map<string, number>();
  const reassignedDeclared = new Set<string>();
  const topScope = new Scope(declared, undefined);
  const reference = (node: Identifier, scope: Scope, isAssignment: boolean): void => {
    const owner = scope.resolve(node.name);
    if (owner === undefined) {
      free.add(node.name);
      if (isAssignment && !assigned.has(node.name)) assigned.set(node.name, node.start);
    } else if (owner === topScope && isAssignment) {
      reassignedDeclared.add(node.name);
    }
  };
  const binding = (scope: Scope): WalkState => ({ scope, assigning: false });

  const visitors: Visitors = {
    Identifier(node, state) {
      reference(node, state.scope, false);
    },
    VariablePattern(node, state) {
      if (state.assigning && node.type === "Identifier") reference(node, state.scope, true);
    },
    UpdateExpression(node, state, callback) {
      if (node.argument.type === "Identifier") reference(node.argument, state.scope, true);
      else callback(node.argument, state);
    },
    AssignmentExpression(node, state, callback) {
      callback(node.left, { scope: state.scope, assigning: true }, "Pattern");
      callback(node.right, binding(state.scope), "Expression");
    },
    VariableDeclarator(node, state, callback) {
      callback(node.id, binding(state.scope), "Pattern");
      if (node.init) callback(node.init, binding(state.scope), "Expression");
    },
    Function(node, state, callback) {
      walkFunction(node, state.scope, callback);
    },
    BlockStatement(node, state, callback) {
      const inner = binding(new Scope(lexicalNames(node.body), state.scope));
      for (const statement of node.body) callback(statement, inner, "Statement");
    },
    StaticBlock(node, state, callback) {
      const names = [...lexicalNames(node.body), ...hoistedVarNames(node)];
      const inner = binding(new Scope(names, state.scope));
      for (const statement of node.body) callback(statement, inner, "Statement");
    },
    SwitchStatement(node, state, callback) {
      callback(node.discriminant, state, "Expression");
      const names = lexicalNames(node.cases.flatMap((switchCase) => switchCase.consequent));
      const inner = binding(new Scope(names, state.scope));
      for (const switchCase of node.cases) {
        if (switchCase.test) callback(switchCase.test, inner, "Expression");
        for (const statement of switchCase.consequent) callback(statement, inner, "Statement");
      }
    },
    ForStatement(node, state, callback) {
      const inner = node.init?.type === "VariableDeclaration" ? loopScope(node.init, state) : state;
      if (node.init) callback(node.init, inner, "ForInit");
      if (node.test) callback(node.test, inner, "Expression");
      if (node.update) callback(node.update, inner, "Expression");
      callback(node.body, inner, "Statement");
    },
    ForInStatement(node, state, callback) {
      walkForInOf(node, state, callback);
    },
    ForOfStatement(node, state, callback) {
      walkForInOf(node, state, callback);
    },
    CatchClause(node, state, callback) {
      const inner = binding(new Scope(node.param ? patternNames(node.param) : [], state.scope));
      if (node.param) callback(node.param, inner, "Pattern");
      callback(node.body, inner, "Statement");
    },
    Class(node, state, callback) {
      const named = node.type === "ClassExpression" && node.id ? [node.id.name] : [];
      const inner = named.length > 0 ? binding(new Scope(named, state.scope)) : state;
      if (node.superClass) callback(node.superClass, inner, "Expression");
      callback(node.body, inner);
    },
  };

  function loopScope(
    declaration: { kind: string; declarations: { id: Pattern }[] },
    state: WalkState,
  ): WalkState {
    if (declaration.kind === "var") return state;
    const names = declaration.declarations.flatMap((declarator) => patternNames(declarator.id));
    return binding(new Scope(names, state.scope));
  }

  function walkForInOf(
    node: Extract<AnyNode, { type: "ForInStatement" | "ForOfStatement" }>,
    state: WalkState,
    callback: Visit,
  ): void {
    if (node.left.type === "VariableDeclaration") {
      const inner = loopScope(node.left, state);
      callback(node.left, inner);
      callback(node.right, inner, "Expression");
      callback(node.body, inner, "Statement");
    } else {
      callback(node.left, { scope: state.scope, assigning: true }, "Pattern");
      callback(node.right, state, "Expression");
      callback(node.body, state, "Statement");
    }
  }

  function walkFunction(node: FunctionNode, outer: Scope, callback: Visit): void {
    const ownName = node.type === "FunctionExpression" && node.id ? [node.id.name] : [];
    const nameScope = ownName.length > 0 ? new Scope(ownName, outer) : outer;
    const names = node.params.flatMap((param) => patternNames(param));
    if (node.type !== "ArrowFunctionExpression") names.push("arguments");
    if (node.body.type === "BlockStatement") {
      names.push(...lexicalNames(node.body.body), ...hoistedVarNames(node.body));
    }
    const inner = binding(new Scope(names, nameScope));
    for (const param of node.params) callback(param, inner, "Pattern");
    if (node.body.type === "BlockStatement") {
      for (const statement of node.body.body) callback(statement, inner, "Statement");
    } else {
      callback(node.body, inner, "Expression");
    }
  }

  const top = binding(topScope);
  const walkers = visitors as unknown as RecursiveVisitors<WalkState>;
  for (const statement of program.body) recursive(statement, top, walkers);
  return {
    declared,
    free: [...free],
    assigned: [...assigned.keys()],
    reassignedDeclared: [...reassignedDeclared],
    declaredAt,
    assignedAt: assigned,
  };
}
