// The checked-in descriptions of the wire match what the method table
// generates now (regenerate with `npm run build -w @strata/server && npm run
// schema -w @strata/server`), and they describe every method.
import { readFileSync } from "node:fs"
import * as Rpc from "@strata/protocol/Rpc"
import { describe, expect, it } from "vitest"
import * as OpenApi from "../src/OpenApi.js"

const checkedIn = (name: string) => readFileSync(new URL(`../schema/${name}`, import.meta.url), "utf8")

describe("published schemas", () => {
  it("schema/openapi.json is current", () => {
    expect(checkedIn("openapi.json")).toBe(OpenApi.render(OpenApi.document()))
  })

  it("schema/rpc.schema.json is current", () => {
    expect(checkedIn("rpc.schema.json")).toBe(OpenApi.render(OpenApi.jsonSchema()))
  })

  it("every method has its params and result, with the scope its token needs", () => {
    const doc = JSON.parse(checkedIn("openapi.json"))
    const methods = Object.keys(Rpc.Methods)
    expect(Object.keys(doc["x-jsonrpc-methods"]).sort()).toEqual([...methods].sort())
    for (const method of methods) {
      expect(doc.components.schemas[OpenApi.componentName(method, "Params")], method).toBeTypeOf("object")
      expect(doc.components.schemas[OpenApi.componentName(method, "Result")], method).toBeTypeOf("object")
    }
    expect(doc["x-jsonrpc-methods"]["approval/resolve"].scope).toBe("approve")
  })
})
