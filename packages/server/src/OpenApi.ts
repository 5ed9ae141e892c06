/**
 * The published descriptions of the wire, generated from the method table
 * of `@strata/protocol/Rpc`: an OpenAPI 3.1 document (the HTTP routes, each
 * method's params and result as components) and a JSON Schema with one
 * definition per method's params and result. `scripts/generate-schema.mjs`
 * writes both to `schema/`; a test fails when the checked-in files are
 * stale.
 *
 * @since 0.2.0
 */
import * as Rpc from "@strata/protocol/Rpc"
import * as JSONSchema from "effect/JSONSchema"

const pascal = (method: string) =>
  method
    .split(/[/_]/)
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join("")

/**
 * The component name of a method's params (`ThreadStartParams`) or result.
 *
 * @since 0.2.0
 * @category utils
 */
export const componentName = (method: string, kind: "Params" | "Result"): string => `${pascal(method)}${kind}`

const components = (definitionPath: string, target: "openApi3.1" | "jsonSchema2020-12") => {
  const definitions: Record<string, JSONSchema.JsonSchema7> = {}
  const schemas: Record<string, unknown> = {}
  for (const [method, spec] of Object.entries(Rpc.Methods)) {
    for (const [kind, schema] of [
      ["Params", spec.params],
      ["Result", spec.result]
    ] as const) {
      schemas[componentName(method, kind)] = JSONSchema.fromAST(schema.ast, {
        definitions,
        definitionPath,
        target,
        topLevelReferenceStrategy: "keep"
      })
    }
  }
  for (const [name, schema] of [
    ["RpcError", Rpc.ErrorObject],
    ["Approval", Rpc.Approval]
  ] as const) {
    schemas[name] = JSONSchema.fromAST(schema.ast, {
      definitions,
      definitionPath,
      target,
      topLevelReferenceStrategy: "keep"
    })
  }
  return { ...definitions, ...schemas }
}

/**
 * The OpenAPI 3.1 document of `strata serve`.
 *
 * @since 0.2.0
 * @category constructors
 */
export const document = (): Record<string, unknown> => {
  const schemas = components("#/components/schemas/", "openApi3.1")
  const methods = Object.entries(Rpc.Methods)
  const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` })
  const errorResponse = {
    description: "A JSON-RPC error (see `error.data.type`)",
    content: {
      "application/json": {
        schema: {
          type: "object",
          required: ["jsonrpc", "id", "error"],
          properties: { jsonrpc: { const: "2.0" }, id: { type: ["string", "integer", "null"] }, error: ref("RpcError") }
        }
      }
    }
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "strata serve",
      version: String(Rpc.RPC_VERSION),
      description:
        "JSON-RPC 2.0 over HTTP and Server-Sent Events. Every method is a POST to /v1/rpc with " +
        '{"jsonrpc":"2.0","id":1,"method":"<name>","params":{...}}; x-jsonrpc-methods lists each with its ' +
        "params, result and the scope its token needs."
    },
    servers: [{ url: "http://127.0.0.1:7077" }],
    security: [{ bearer: [] }],
    paths: {
      "/v1/rpc": {
        post: {
          operationId: "rpc",
          summary: "Call a method (or a batch)",
          requestBody: {
            required: true,
            content: {
              "application/json": {
                schema: {
                  oneOf: methods.map(([method]) => ({
                    type: "object",
                    required: ["jsonrpc", "method"],
                    properties: {
                      jsonrpc: { const: "2.0" },
                      id: { type: ["string", "integer"] },
                      method: { const: method },
                      params: ref(componentName(method, "Params"))
                    }
                  }))
                }
              }
            }
          },
          responses: {
            "200": { description: "The JSON-RPC answer (`result` or `error`)" },
            "204": { description: "A notification (no id): no answer" },
            "401": errorResponse,
            "413": errorResponse,
            "429": errorResponse
          }
        }
      },
      "/v1/threads/{thread_id}/events": {
        get: {
          operationId: "threadEvents",
          summary: "A thread's events as SSE, resumable",
          parameters: [
            { name: "thread_id", in: "path", required: true, schema: { type: "string" } },
            { name: "Last-Event-ID", in: "header", required: false, schema: { type: "string", pattern: "^\\d+$" } },
            { name: "after", in: "query", required: false, schema: { type: "integer", minimum: 0 } }
          ],
          responses: {
            "200": {
              description:
                "text/event-stream: `id: <seq>` + `data: <EventFrame>` per frame; `event: approval` + `data: <Approval>` after each approval_requested frame",
              content: { "text/event-stream": { schema: { type: "string" } } }
            },
            "401": errorResponse,
            "404": errorResponse
          }
        }
      },
      "/v1/events": {
        get: {
          operationId: "events",
          summary: "Every thread's events from now on, as SSE",
          responses: {
            "200": {
              description: "text/event-stream",
              content: { "text/event-stream": { schema: { type: "string" } } }
            },
            "401": errorResponse
          }
        }
      }
    },
    "x-jsonrpc-methods": Object.fromEntries(
      methods.map(([method, spec]) => [
        method,
        {
          description: spec.description,
          scope: spec.scope,
          params: ref(componentName(method, "Params")),
          result: ref(componentName(method, "Result"))
        }
      ])
    ),
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
      schemas
    }
  }
}

/**
 * One JSON Schema (2020-12) holding every method's params and result under
 * `$defs`.
 *
 * @since 0.2.0
 * @category constructors
 */
export const jsonSchema = (): Record<string, unknown> => ({
  $schema: "https://json-schema.org/draft/2020-12/schema",
  $id: "strata-rpc-v1",
  title: `strata serve wire v${Rpc.RPC_VERSION}`,
  $defs: components("#/$defs/", "jsonSchema2020-12")
})

/**
 * A document as the checked-in files hold it (2-space JSON, a trailing
 * newline, and a note that it is generated).
 *
 * @since 0.2.0
 * @category utils
 */
export const render = (document: Record<string, unknown>): string =>
  `${JSON.stringify({ $comment: "Generated by packages/server/scripts/generate-schema.mjs. Do not edit.", ...document }, null, 2)}\n`
