// Preloaded with `node --import` (through NODE_OPTIONS) by test/DemoModel.test.ts:
// any resolution of `@strata/testkit` (by name or to a file under
// packages/testkit) throws, so a `strata` that still loaded the testkit at
// run time would fail.
import { register } from "node:module"

const hooks = `
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context)
  if (specifier.startsWith("@strata/testkit") || result.url.includes("/packages/testkit/")) {
    throw new Error("@strata/testkit loaded at run time: " + specifier)
  }
  return result
}
`
register(`data:text/javascript,${encodeURIComponent(hooks)}`)
