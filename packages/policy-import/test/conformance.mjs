// Cross-runtime conformance for @strata/policy-import: the same imports under
// Node, Bun and Deno, from the built package (dist/).
//
//   npm run build -w @strata/policy-import
//   node packages/policy-import/test/conformance.mjs
//   ./node_modules/.bin/bun packages/policy-import/test/conformance.mjs
//   ./node_modules/.bin/deno run -A packages/policy-import/test/conformance.mjs
import assert from "node:assert/strict"
import { readFileSync } from "node:fs"
import { Emit, Importer } from "@strata/policy-import"
import * as Either from "effect/Either"
import { run, runtime, test } from "../../../scripts/conformance.mjs"

const fixture = (rel) => ({ path: rel, text: readFileSync(new URL(`./fixtures/${rel}`, import.meta.url), "utf8") })
const ok = (format, files) => {
  const r = Importer.importFiles(format, files)
  assert.ok(Either.isRight(r), Either.isLeft(r) ? r.left.message : "")
  return r.right
}

test(`codex rules parse without evaluation on ${runtime()}`, () => {
  const imp = ok("codex", [fixture("codex/default.rules")])
  assert.deepEqual(
    imp.rules.map((r) => [r.decision, r.prefix]),
    [
      [
        "allow",
        [
          ["git", "/usr/bin/git", "/opt/homebrew/bin/git"],
          ["status", "log", "diff"]
        ]
      ],
      ["ask", ["git", "push"]],
      ["deny", ["rm", ["-rf", "-fr"]]],
      ["allow", ["npm", ["test", "run"]]],
      ["ask", ["gh", "pr", "view"]]
    ]
  )
  assert.match(Emit.policyToml(imp), /# codex\/default\.rules:18 prefix_rule:/)
})

test("gemini-cli priorities become strictest-wins with a default", () => {
  const imp = ok("gemini", [fixture("gemini/settings.json")])
  assert.equal(imp.default, "deny")
  assert.deepEqual(
    imp.rules.map((r) => `${r.decision} ${r.prefix.join(" ")}`),
    ["deny curl", "allow ls", "allow cat"]
  )
})

test("Claude Code patterns, tool rules and located errors", () => {
  const imp = ok("claude", [fixture("claude/settings.json")])
  assert.ok(imp.rules.some((r) => r.decision === "allow" && r.prefix.join(" ") === "git status"))
  assert.ok(imp.toolRules.every((r) => r.decision !== "allow"))
  const bad = Importer.importFiles("claude", [
    { path: "s.json", text: '{\n  "permissions": {\n    "allow": [1]\n  }\n}' }
  ])
  assert.ok(Either.isLeft(bad))
  assert.match(bad.left.message, /^s\.json:3:1: permissions\.allow\[0\]/)
})

await run("@strata/policy-import")
