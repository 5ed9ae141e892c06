// Writes the published descriptions of the `strata serve` wire, generated from
// @strata/protocol/Rpc: schema/openapi.json (OpenAPI 3.1) and
// schema/rpc.schema.json (JSON Schema 2020-12). Runs on the built output:
// `npm run build -w @strata/server && npm run schema -w @strata/server`.
// test/Schema.test.ts fails when the checked-in files are stale.
import { mkdirSync, writeFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { OpenApi } from "@strata/server"

const out = join(dirname(fileURLToPath(import.meta.url)), "..", "schema")
mkdirSync(out, { recursive: true })
writeFileSync(join(out, "openapi.json"), OpenApi.render(OpenApi.document()))
writeFileSync(join(out, "rpc.schema.json"), OpenApi.render(OpenApi.jsonSchema()))
console.log(`wrote openapi.json and rpc.schema.json to ${out}`)
