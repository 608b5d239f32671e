/**
 * Which statement gives the cell its value: the last one, if it is an expression
 * statement. Node's transform mode (enums, namespaces) appends `var N;` declarations
 * after the user's code; those are not the user's last statement, so they are skipped.
 */
import type { ModuleDeclaration, Program, Statement } from "acorn";

export function resultStatement(
  program: Program,
  positionsPreserved: boolean,
): Statement | ModuleDeclaration | undefined {
  let index = program.body.length - 1;
  if (!positionsPreserved) {
    while (index > 0 && isBareVar(program.body[index])) index -= 1;
  }
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
