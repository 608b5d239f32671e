/**
 * Which statement gives the cell its value: the last one, if it is an expression
 * statement. Trailing empty statements (`1;;;`, `await 0;;`) give no value of their own
 * and are skipped, as in Node's REPL (and as a script's completion value does). Node's
 * transform mode (enums, namespaces) appends `var N;` declarations after the user's
 * code; those are not the user's last statement either.
 */
import type { ModuleDeclaration, Program, Statement } from "acorn";

export function resultStatement(
  program: Program,
  positionsPreserved: boolean,
): Statement | ModuleDeclaration | undefined {
  let index = program.body.length - 1;
  const skippable = (statement: Statement | ModuleDeclaration | undefined) =>
    statement?.type === "EmptyStatement" || (!positionsPreserved && isBareVar(statement));
  while (index > 0 && skippable(program.body[index])) index -= 1;
  return program.body[index];
}

function isBareVar(statement: Statement | ModuleDeclaration | undefined): boolean {
  return (
    statement?.type === "VariableDeclaration" &&
    statement.kind === "var" &&
    statement.declarations.every(
      (declarator) => declarator.init === null || declarator.init === undefined,
    )
  );
}
