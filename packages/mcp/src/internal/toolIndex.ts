/**
 * @internal
 *
 * The bridged tool index: every ready server's (filtered) tools under the
 * names `assign` gives them, rebuilt whenever a connection comes or goes.
 */
import type { Tool as SdkTool } from "@modelcontextprotocol/sdk/types.js"
import type { McpTool } from "../McpManager.js"
import { assign } from "../McpToolName.js"
import type { Bridged, Handle } from "./connection.js"

/** The index over `handles`; `reindex` after any change to a handle's connection or tools. */
export const makeToolIndex = (handles: ReadonlyArray<Handle>) => {
  let index = new Map<string, Bridged>()
  let bridged: ReadonlyArray<McpTool> = []

  const reindex = (): void => {
    const refs: Array<{ handle: Handle; tool: SdkTool }> = []
    for (const handle of handles) {
      if (handle.conn?.ready === true) for (const tool of handle.conn.tools) refs.push({ handle, tool })
    }
    const names = assign(refs.map((r) => ({ server: r.handle.config.name, tool: r.tool.name })))
    const next = new Map<string, Bridged>()
    const list: Array<McpTool> = []
    refs.forEach(({ handle, tool }, i) => {
      const t: McpTool = {
        name: names[i]!,
        server: handle.config.name,
        tool: tool.name,
        ...(tool.title === undefined ? {} : { title: tool.title }),
        ...(tool.description === undefined ? {} : { description: tool.description }),
        input_schema: tool.inputSchema,
        ...(tool.outputSchema === undefined ? {} : { output_schema: tool.outputSchema }),
        ...(tool.annotations === undefined ? {} : { annotations: tool.annotations })
      }
      next.set(t.name, { handle, tool, bridged: t })
      list.push(t)
    })
    index = next
    bridged = list
  }

  return {
    reindex,
    get: (name: string): Bridged | undefined => index.get(name),
    list: (): ReadonlyArray<McpTool> => bridged
  }
}
