/**
 * Every key of a config schema, as dotted paths: struct fields by name,
 * record keys and array elements as `*` (`mcp_servers.*.startup_timeout`,
 * `models.*.price_per_mtok.input`, `hooks.*.*.matcher`). A key whose value
 * is a struct (a section: `[jobs]`, `[mcp.restart]`) is covered through its
 * own keys; every other key (records and lists included: `providers`,
 * `plugins`) needs a marker of its own.
 */
import type * as SchemaAST from "effect/SchemaAST"

export interface SchemaKey {
  readonly key: string
  /** A struct (or a union containing one): covered through its own keys. */
  readonly section: boolean
}

const hasFields = (ast: SchemaAST.AST, seen: Set<SchemaAST.AST>): boolean => {
  if (seen.has(ast)) return false
  seen.add(ast)
  switch (ast._tag) {
    case "TypeLiteral":
      return ast.propertySignatures.length > 0
    case "Union":
      return ast.types.some((t) => hasFields(t, seen))
    case "Refinement":
      return hasFields(ast.from, seen)
    case "Transformation":
      return hasFields(ast.from, seen) || hasFields(ast.to, seen)
    case "Declaration":
      return ast.typeParameters.some((t) => hasFields(t, seen))
    case "Suspend":
      return false
    default:
      return false
  }
}

export const schemaKeys = (root: SchemaAST.AST): ReadonlyArray<SchemaKey> => {
  const keys = new Map<string, boolean>()
  const walk = (ast: SchemaAST.AST, path: ReadonlyArray<string>, depth: number): void => {
    if (depth > 12) return
    switch (ast._tag) {
      case "TypeLiteral":
        for (const ps of ast.propertySignatures) {
          const here = [...path, String(ps.name)]
          const key = here.join(".")
          keys.set(key, (keys.get(key) ?? false) || hasFields(ps.type, new Set()))
          walk(ps.type, here, depth + 1)
        }
        for (const is of ast.indexSignatures) walk(is.type, [...path, "*"], depth + 1)
        return
      case "TupleType":
        for (const e of ast.elements) walk(e.type, [...path, "*"], depth + 1)
        for (const r of ast.rest) walk(r.type, [...path, "*"], depth + 1)
        return
      case "Union":
        for (const t of ast.types) walk(t, path, depth + 1)
        return
      case "Refinement":
        walk(ast.from, path, depth + 1)
        return
      case "Transformation":
        // Both sides: optional-with-default fields are transformations whose `from` holds the struct.
        walk(ast.from, path, depth + 1)
        walk(ast.to, path, depth + 1)
        return
      case "Declaration":
        for (const t of ast.typeParameters) walk(t, path, depth + 1)
        return
      default:
        return
    }
  }
  walk(root, [], 0)
  return [...keys].map(([key, section]) => ({ key, section })).sort((a, b) => a.key.localeCompare(b.key))
}
