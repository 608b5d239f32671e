/**
 * Import declarations in a cell become `await import(...)` bindings: the namespace object
 * for `* as ns`, its `default` for a default import, its named exports for `{ a as b }`.
 * The bindings are snapshots taken when the cell runs, not live ESM bindings.
 */
import type { Identifier, ImportDeclaration, Literal } from "acorn";

export interface CellImport {
  /** The name the cell binds. */
  name: string;
  /** The module specifier, as written. */
  specifier: string;
  /** "default", "*" for a namespace import, or the exported name. */
  imported: "default" | "*" | string;
}

export function describeImport(node: ImportDeclaration): CellImport[] {
  const specifier = String(node.source.value);
  return node.specifiers.map((spec) => ({
    name: spec.local.name,
    specifier,
    imported:
      spec.type === "ImportDefaultSpecifier"
        ? "default"
        : spec.type === "ImportNamespaceSpecifier"
          ? "*"
          : exportName(spec.imported),
  }));
}

/** One expression that performs the import and assigns every binding (to hoisted vars). */
export function importExpression(node: ImportDeclaration): string {
  const load = `await import(${JSON.stringify(String(node.source.value))}${attributesArgument(node)})`;
  const namespace = node.specifiers.find((spec) => spec.type === "ImportNamespaceSpecifier");
  const properties: string[] = [];
  for (const spec of node.specifiers) {
    if (spec.type === "ImportDefaultSpecifier") properties.push(`default: ${spec.local.name}`);
    if (spec.type === "ImportSpecifier") {
      properties.push(`${JSON.stringify(exportName(spec.imported))}: ${spec.local.name}`);
    }
  }
  const source = namespace ? `${namespace.local.name} = ${load}` : load;
  return properties.length > 0 ? `({ ${properties.join(", ")} } = ${source})` : `(${source})`;
}

function exportName(name: Identifier | Literal): string {
  return name.type === "Identifier" ? name.name : String(name.value);
}

function attributesArgument(node: ImportDeclaration): string {
  const attributes = node.attributes ?? [];
  if (attributes.length === 0) return "";
  const entries = attributes.map((attribute) => {
    const key =
      attribute.key.type === "Identifier" ? attribute.key.name : String(attribute.key.value);
    return `${JSON.stringify(key)}: ${JSON.stringify(String(attribute.value.value))}`;
  });
  return `, { with: { ${entries.join(", ")} } }`;
}
