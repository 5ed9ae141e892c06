/**
 * `strata approvals list | approve <id> | deny <id>`: answer the approvals a
 * non-interactive run left pending; the paused turn continues.
 *
 * @since 0.1.0
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import { Runtime } from "@strata/core-runtime"
import { StateStore } from "@strata/storage/StateStore"
import * as Effect from "effect/Effect"
import { ago, exit, json, print, processOptions } from "../common.js"
import * as Distribution from "../Distribution.js"
import * as ReadOnly from "../ReadOnly.js"
import * as Session from "../Session.js"

const all = Options.boolean("all").pipe(Options.withDescription("Include resolved approvals"))

const list = Command.make("list", { json, all }, (o) =>
  ReadOnly.session(
    processOptions(),
    Effect.gen(function* () {
      const store = yield* StateStore
      const approvals = yield* store.listApprovals(o.all ? {} : { status: "pending" })
      const damaged = yield* store.listDamaged("approval")
      if (o.json) return yield* print(true, [...approvals, ...damaged.map(ReadOnly.damagedJson)], () => "")
      yield* print(false, approvals, (as) =>
        as.length === 0 && damaged.length === 0
          ? "no pending approvals"
          : [
              ...as.map(
                (a) =>
                  `${a.id}  ${a.status.padEnd(8)} ${ago(a.created_at).padStart(8)}  ${a.command ?? a.call.name}  (${a.reason})`
              ),
              ...damaged.map(ReadOnly.damagedLine)
            ].join("\n")
      )
    })
  )
).pipe(Command.withDescription("List pending approvals (damaged ones marked); writes nothing"))

const answer = (decision: "approve" | "deny") =>
  Command.make(
    decision,
    {
      json,
      id: Args.text({ name: "approval" }).pipe(Args.withDescription("The approval id")),
      reason: Options.text("reason").pipe(Options.optional, Options.withDescription("Why (recorded)"))
    },
    (o) =>
      Distribution.session(processOptions(), () =>
        Effect.gen(function* () {
          const rt = yield* Runtime.Runtime
          const outcome = yield* rt.resolveApproval(o.id, decision, {
            reason:
              o.reason._tag === "Some"
                ? o.reason.value
                : `${decision === "approve" ? "approved" : "denied"} with strata approvals`
          })
          yield* print(o.json, outcome, (v) =>
            [
              `${o.id} ${decision === "approve" ? "approved" : "denied"}: ${v.result.ok ? "the call ran" : v.result.status}`,
              ...(v.turn === undefined ? [] : [`turn ${v.turn.outcome}: ${v.turn.output}`])
            ].join("\n")
          )
          if (outcome.turn !== undefined) yield* exit(Session.exitCode(outcome.turn.outcome))
        })
      )
  ).pipe(
    Command.withDescription(
      `${decision === "approve" ? "Approve" : "Deny"} a pending approval; the paused turn continues`
    )
  )

/**
 * @since 0.1.0
 * @category commands
 */
export const approvals = Command.make("approvals").pipe(
  Command.withDescription("List and answer pending approvals"),
  Command.withSubcommands([list, answer("approve"), answer("deny")])
)
