import { describe, expect, it } from "@effect/vitest"
import * as Schema from "effect/Schema"
import * as SchemaAST from "effect/SchemaAST"
import { HookCatalog, HookEvent } from "../src/index.js"

/** The literal of an event schema's `hook_event_name`. */
const tagOf = (schema: Schema.Schema.AnyNoContext): unknown => {
  const ast = SchemaAST.typeAST(schema.ast)
  if (!SchemaAST.isTypeLiteral(ast)) return undefined
  const tag = ast.propertySignatures.find((p) => p.name === "hook_event_name")?.type
  return tag !== undefined && SchemaAST.isLiteral(tag) ? tag.literal : undefined
}

describe("HookCatalog", () => {
  it("HookEvent gives every event of the catalog its schema, tagged with its name, in catalog order", () => {
    expect(HookEvent.names).toEqual(HookCatalog.names)
    expect(Object.keys(HookEvent.catalog)).toEqual(HookCatalog.names)
    for (const name of HookCatalog.names) {
      const entry: HookCatalog.EventSpec & { readonly schema?: Schema.Schema.AnyNoContext } = HookEvent.catalog[name]
      const { schema, ...spec } = entry
      expect(spec).toEqual(HookCatalog.catalog[name])
      expect(schema === undefined ? undefined : tagOf(schema)).toBe(name)
    }
    const union = HookEvent.HookEvent.ast
    expect(SchemaAST.isUnion(union) ? union.types.length : 0).toBe(HookCatalog.names.length)
  })

  it("names, kinds, matchTarget and the name schema are HookEvent's", () => {
    expect(HookEvent.kinds).toEqual(HookCatalog.kinds)
    expect(HookEvent.ToolPhase.literals).toEqual(HookCatalog.toolPhases)
    expect(HookEvent.ApprovalPhase.literals).toEqual(HookCatalog.approvalPhases)
    expect(Schema.is(HookCatalog.HookEventName)("PreToolUse")).toBe(true)
    expect(Schema.is(HookCatalog.HookEventName)("NoSuchEvent")).toBe(false)
    expect(HookCatalog.isHookEventName("Stop")).toBe(true)
    expect(HookCatalog.isHookEventName("toString")).toBe(false)
    const event = HookEvent.HookEvent.pipe(Schema.decodeUnknownSync)({
      hook_event_name: "PreToolUse",
      tool_name: "shell__exec",
      tool_input: { command: "ls" },
      tool_use_id: "call-1"
    })
    expect(HookCatalog.matchTarget(event)).toBe("shell__exec")
    expect(HookCatalog.kindOf(event)).toBe("PreToolUse")
  })
})
