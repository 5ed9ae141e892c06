import * as NodeContext from "@effect/platform-node/NodeContext"
import { Decision, ExecPolicy } from "@strata/exec-policy"
import * as Effect from "effect/Effect"

const policy = await Effect.runPromise(
  ExecPolicy.make({ files: ["test/fixtures/sample-rules.toml"] }).pipe(Effect.provide(NodeContext.layer))
)
for (const c of process.argv.slice(2)) {
  const d = policy.checkSync(c)
  console.log(
    d.decision.padEnd(5),
    JSON.stringify(c),
    JSON.stringify(d.commands.map((x) => x.argv)),
    d.reasons.map((r) => r.code).join(",")
  )
}
