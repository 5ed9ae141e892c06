// Cross-runtime conformance for @strata/exec-policy: the same decisions under
// Node, Bun and Deno, from the built package (dist/). The grammar is read
// through @effect/platform's FileSystem (NodeContext works on all three).
//
//   npm run build -w @strata/exec-policy
//   node packages/exec-policy/test/conformance.mjs
//   ./node_modules/.bin/bun packages/exec-policy/test/conformance.mjs
//   ./node_modules/.bin/deno run -A packages/exec-policy/test/conformance.mjs
import assert from "node:assert/strict"
import { readFileSync } from "node:fs"
import * as NodeContext from "@effect/platform-node/NodeContext"
import { Decision, ExecPolicy } from "@strata/exec-policy"
import * as Effect from "effect/Effect"
import { run, runtime, test } from "../../../scripts/conformance.mjs"

const fixture = (name) => new URL(`./fixtures/${name}`, import.meta.url)
const filePath = (url) => decodeURIComponent(url.pathname)
const cases = (name) =>
  readFileSync(fixture(name), "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l))

const load = (files) => Effect.runPromise(ExecPolicy.make({ files }).pipe(Effect.provide(NodeContext.layer)))

const sample = await load([filePath(fixture("sample-rules.toml"))])
const strata = await load([filePath(fixture("strata-rules.toml"))])

test(`grammar loads through FileSystem on ${runtime()}`, async () => {
  const d = await Effect.runPromise(sample.check("git status && rm -rf build"))
  assert.equal(d.decision, "deny")
  assert.deepEqual(
    d.commands.map((c) => c.argv),
    [
      ["git", "status"],
      ["rm", "-rf", "build"]
    ]
  )
  assert.equal(d.commands[1].rule.line, 23)
})

for (const c of cases("cases.jsonl")) {
  test(`contract ${c.id}: ${JSON.stringify(c.command)} is ${c.expected}`, () => {
    assert.equal(sample.checkSync(c.command).decision, c.expected)
  })
}

const own = cases("strata-cases.jsonl")
for (const category of [...new Set(own.map((c) => c.category))]) {
  const some = own.filter((c) => c.category === category)
  test(`own ${category}: ${some.length} cases`, () => {
    for (const c of some) {
      const d = strata.checkSync(c.command)
      assert.equal(d.decision, c.expected, `${c.id}: ${JSON.stringify(c.command)}`)
      if (c.reason !== undefined)
        assert.ok(
          d.reasons.some((r) => r.code === c.reason),
          `${c.id}: reason ${c.reason}`
        )
    }
  })
}

test("approval modes", () => {
  assert.equal(sample.checkSync("touch x", { approval: "never" }).decision, "deny")
  const d = sample.checkSync("touch x")
  assert.equal(Decision.applyApproval(d, "untrusted").decision, "ask")
  assert.equal(sample.checkSync("ls", { approval: "untrusted" }).decision, "allow")
})

test("1 MB of input is refused with a reason", () => {
  const d = sample.checkSync(`echo ${"a".repeat(1 << 20)}`)
  assert.equal(d.decision, "ask")
  assert.deepEqual(
    d.reasons.map((r) => r.code),
    ["too-large"]
  )
})

test("a malformed rule file names file, line and column", async () => {
  const grammar = new Uint8Array(readFileSync(new URL(import.meta.resolve("tree-sitter-bash/tree-sitter-bash.wasm"))))
  const error = await Effect.runPromise(
    Effect.flip(
      ExecPolicy.makeFromSources([{ file: "bad.toml", layer: "cli", text: '[[rule]]\nprefix = ["ls"\n' }], { grammar })
    )
  )
  assert.equal(error._tag, "RuleFileError")
  assert.equal(error.line, 3)
  assert.match(error.message, /^bad\.toml:3:1: invalid TOML/)
})

await run("@strata/exec-policy")
