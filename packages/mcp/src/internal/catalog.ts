/**
 * @internal
 *
 * Resources and prompts: listing them across servers, reading one, getting
 * one. Built over the manager's `run` (one request on a server's live
 * connection, re-initializing a lost HTTP session), so it holds no state.
 */
import type { RequestOptions } from "@modelcontextprotocol/sdk/shared/protocol.js"
import type { ContentPart } from "@strata/protocol/Tool"
import * as Effect from "effect/Effect"
import { McpError } from "../McpError.js"
import type { CallOptions, McpPrompt, McpPromptResult, McpResource, McpResourceTemplate } from "../McpManager.js"
import { type Conn, type Handle, notReady, paged } from "./connection.js"
import { contentPart, resourceContents } from "./content.js"

/** What the catalog needs from the manager. */
export interface CatalogDeps {
  readonly handles: ReadonlyArray<Handle>
  readonly lookup: (server: string, operation: string) => Effect.Effect<Handle, McpError>
  readonly run: <A>(
    h: Handle,
    operation: string,
    tool: string | undefined,
    timeoutMs: number,
    f: (conn: Conn, options: RequestOptions) => Promise<A>
  ) => Effect.Effect<A, McpError>
  readonly timeoutOf: (h: Handle, options: CallOptions | undefined) => number
}

/** The resource and prompt operations of `McpManager`. */
export const makeCatalog = ({ handles, lookup, run, timeoutOf }: CatalogDeps) => {
  /** Servers to list from: the named one (which must have the capability) or every ready one that has it. */
  const targets = (
    server: string | undefined,
    operation: string,
    capability: "resources" | "prompts"
  ): Effect.Effect<ReadonlyArray<Handle>, McpError> => {
    const has = (h: Handle) => h.conn?.client.getServerCapabilities()?.[capability] !== undefined
    if (server === undefined) return Effect.succeed(handles.filter((h) => h.conn?.ready === true && has(h)))
    return Effect.flatMap(lookup(server, operation), (h) => {
      if (h.conn?.ready !== true) return notReady(h, operation, undefined)
      if (!has(h)) {
        return Effect.fail(
          new McpError({
            reason: "Unsupported",
            server,
            operation,
            detail: `the server has no ${capability}`
          })
        )
      }
      return Effect.succeed([h])
    })
  }

  const listEach = <A>(
    server: string | undefined,
    operation: string,
    capability: "resources" | "prompts",
    one: (h: Handle) => Effect.Effect<ReadonlyArray<A>, McpError>
  ): Effect.Effect<ReadonlyArray<A>, McpError> =>
    Effect.flatMap(targets(server, operation, capability), (hs) =>
      Effect.map(
        Effect.forEach(
          hs,
          (h) =>
            server === undefined
              ? Effect.catchAll(one(h), (e) =>
                  Effect.as(Effect.logWarning(`MCP ${h.config.name}: ${e.message}`), [] as ReadonlyArray<A>)
                )
              : one(h),
          { concurrency: "unbounded" }
        ),
        (lists) => lists.flat()
      )
    )

  const opt = <K extends string>(key: K, value: unknown): { [P in K]?: string } =>
    (typeof value === "string" ? { [key]: value } : {}) as {
      [P in K]?: string
    }

  const listResources = Effect.fn("McpManager.listResources")((server?: string) =>
    listEach(server, "resources/list", "resources", (h) =>
      run(h, "resources/list", undefined, timeoutOf(h, undefined), (conn, options) =>
        paged(async (cursor) => {
          const r = await conn.client.listResources(cursor === undefined ? undefined : { cursor }, options)
          return { nextCursor: r.nextCursor, items: r.resources }
        })
      ).pipe(
        Effect.map((items) =>
          items.map(
            (r): McpResource => ({
              server: h.config.name,
              uri: r.uri,
              name: r.name,
              ...opt("title", r.title),
              ...opt("description", r.description),
              ...opt("mime_type", r.mimeType)
            })
          )
        )
      )
    )
  )

  const listResourceTemplates = Effect.fn("McpManager.listResourceTemplates")((server?: string) =>
    listEach(server, "resources/templates/list", "resources", (h) =>
      run(h, "resources/templates/list", undefined, timeoutOf(h, undefined), (conn, options) =>
        paged(async (cursor) => {
          const r = await conn.client.listResourceTemplates(cursor === undefined ? undefined : { cursor }, options)
          return { nextCursor: r.nextCursor, items: r.resourceTemplates }
        })
      ).pipe(
        Effect.map((items) =>
          items.map(
            (r): McpResourceTemplate => ({
              server: h.config.name,
              uri_template: r.uriTemplate,
              name: r.name,
              ...opt("title", r.title),
              ...opt("description", r.description),
              ...opt("mime_type", r.mimeType)
            })
          )
        )
      )
    )
  )

  const readResource = Effect.fn("McpManager.readResource")((server: string, uri: string) =>
    Effect.flatMap(targets(server, "resources/read", "resources"), ([h]) =>
      run(h!, "resources/read", undefined, timeoutOf(h!, undefined), (conn, options) =>
        conn.client.readResource({ uri }, options)
      ).pipe(
        Effect.map(
          (r): ReadonlyArray<ContentPart> =>
            r.contents.map((c) => resourceContents(c as unknown as Record<string, unknown>))
        )
      )
    )
  )

  const listPrompts = Effect.fn("McpManager.listPrompts")((server?: string) =>
    listEach(server, "prompts/list", "prompts", (h) =>
      run(h, "prompts/list", undefined, timeoutOf(h, undefined), (conn, options) =>
        paged(async (cursor) => {
          const r = await conn.client.listPrompts(cursor === undefined ? undefined : { cursor }, options)
          return { nextCursor: r.nextCursor, items: r.prompts }
        })
      ).pipe(
        Effect.map((items) =>
          items.map(
            (p): McpPrompt => ({
              server: h.config.name,
              name: p.name,
              ...opt("title", p.title),
              ...opt("description", p.description),
              arguments: (p.arguments ?? []).map((a) => ({
                name: a.name,
                ...opt("description", a.description),
                ...(a.required === undefined ? {} : { required: a.required })
              }))
            })
          )
        )
      )
    )
  )

  const getPrompt = Effect.fn("McpManager.getPrompt")(
    (server: string, name: string, args?: { readonly [key: string]: string }) =>
      Effect.flatMap(targets(server, "prompts/get", "prompts"), ([h]) =>
        run(h!, "prompts/get", undefined, timeoutOf(h!, undefined), (conn, options) =>
          conn.client.getPrompt(
            {
              name,
              ...(args === undefined ? {} : { arguments: { ...args } })
            },
            options
          )
        ).pipe(
          Effect.map(
            (r): McpPromptResult => ({
              ...opt("description", r.description),
              messages: r.messages.map((m) => ({
                role: m.role,
                content: contentPart(m.content)
              }))
            })
          )
        )
      )
  )

  return {
    listResources,
    listResourceTemplates,
    readResource,
    listPrompts,
    getPrompt
  }
}
