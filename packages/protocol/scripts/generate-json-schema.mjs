// Writes the JSON Schema of every wire type (Schemas.all) to packages/protocol/schema/.
// Runs on the built output: `npm run build -w @strata/protocol && npm run schema -w @strata/protocol`.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { Schemas } from "@strata/protocol"

const out = join(dirname(fileURLToPath(import.meta.url)), "..", "schema")
mkdirSync(out, { recursive: true })
const wanted = new Set(Object.keys(Schemas.all).map((name) => `${name}.json`))
for (const file of readdirSync(out)) if (file.endsWith(".json") && !wanted.has(file)) rmSync(join(out, file))
for (const [name, schema] of Object.entries(Schemas.all)) {
  writeFileSync(join(out, `${name}.json`), Schemas.jsonSchemaDocument(name, schema))
}
console.log(`wrote ${wanted.size} JSON Schema files to ${out}`)
