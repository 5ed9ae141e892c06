/**
 * `strata remote <command>`: the everyday commands against a running
 * `strata serve` instead of a local runtime, through `@strata/client`.
 * `--url` (or `STRATA_REMOTE`) names the server, `STRATA_TOKEN` the bearer
 * token (never on the command line, where `ps` shows it).
 *
 * - `remote run "<prompt>" [--thread ID] [--json]`: starts a turn and streams
 *   its answer (its frames as JSON lines with `--json`); a pending approval
 *   ends it with exit code 3, as `strata run` does.
 * - `remote threads [--json]`, `remote approvals [--json]`,
 *   `remote approve|deny <id>`, `remote jobs [--json]`.
 *
 * @since 0.2.0
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as StrataClient from "@strata/client/StrataClient"
import * as Decision from "@strata/exec-policy/Decision"
import type { EventFrame } from "@strata/protocol/Event"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { CliError, exit, json, print } from "../common.js"
import * as Session from "../Session.js"

const url = Options.text("url").pipe(
  Options.optional,
  Options.withDescription("The server (default: $STRATA_REMOTE), e.g. http://127.0.0.1:7077")
)

const clientOf = (given: Option.Option<string>) =>
  Effect.suspend(() => {
    const target = Option.getOrUndefined(given) ?? process.env.STRATA_REMOTE
    if (target === undefined || target === "") {
      return Effect.fail(new CliError({ detail: "no server named", hint: "give --url or set STRATA_REMOTE", code: 2 }))
    }
    const token = process.env.STRATA_TOKEN
    return Effect.succeed(StrataClient.make({ url: target, ...(token ? { token } : {}) }))
  })

const call = <A>(f: () => Promise<A>) =>
  Effect.tryPromise({
    try: f,
    catch: (e) =>
      e instanceof StrataClient.StrataRpcError
        ? new CliError({ detail: `${e.type}: ${e.message}`, code: e.type === "Transport" ? 1 : 1 })
        : new CliError({ detail: String(e) })
  })

const runRemote = Command.make(
  "run",
  {
    url,
    json,
    thread: Options.text("thread").pipe(Options.optional, Options.withDescription("Continue this thread")),
    prompt: Args.text({ name: "prompt" }).pipe(Args.repeated)
  },
  (o) =>
    Effect.gen(function* () {
      const client = yield* clientOf(o.url)
      const text = o.prompt.join(" ").trim()
      if (text === "") return yield* new CliError({ detail: "nothing to run: give a prompt", code: 2 })
      const started = yield* call(() =>
        client.call("turn/start", {
          prompt: text,
          ...(Option.isSome(o.thread) ? { thread_id: o.thread.value } : {})
        })
      )
      if (!("after_seq" in started)) return
      let ended: Extract<EventFrame, { event: "turn_ended" }> | undefined
      yield* call(async () => {
        for await (const item of client.threadEvents(started.thread_id, { after: started.after_seq })) {
          if (item.type === "approval") {
            if (!o.json) {
              process.stderr.write(
                `approval pending ${item.approval.id}: ${item.approval.command ?? item.approval.call.name} (${item.approval.reason})\n` +
                  `  answer with: strata remote approve ${item.approval.id}  |  strata remote deny ${item.approval.id}\n`
              )
            }
            continue
          }
          const frame = item.frame
          if (o.json) process.stdout.write(`${JSON.stringify(frame)}\n`)
          else if (frame.event === "response_delta" && frame.channel === "text") process.stdout.write(frame.delta)
          else if (frame.event === "response_retry")
            process.stdout.write(
              `\n(the model's answer broke off; discarded, asking again: attempt ${frame.attempt})\n`
            )
          if (frame.event === "turn_ended") {
            ended = frame
            break
          }
        }
      })
      if (!o.json) process.stdout.write(`\nthread ${started.thread_id}\n`)
      yield* exit(Session.exitCode(ended?.outcome ?? "failed"))
    })
).pipe(Command.withDescription("Run one turn on a remote strata serve, streaming its answer"))

const list = <A>(
  name: string,
  description: string,
  fetch: (c: StrataClient.StrataClient) => Promise<A>,
  render: (a: A) => string
) =>
  Command.make(name, { url, json }, (o) =>
    Effect.gen(function* () {
      const client = yield* clientOf(o.url)
      const value = yield* call(() => fetch(client))
      yield* print(o.json, value, render)
    })
  ).pipe(Command.withDescription(description))

const threads = list(
  "threads",
  "List the threads of a remote strata serve",
  (c) => c.call("thread/list", {}).then((r) => r.threads),
  (ts) =>
    ts.length === 0 ? "no threads" : ts.map((t) => `${t.id}  ${t.status.padEnd(9)} ${t.name ?? t.preview}`).join("\n")
)
const approvals = list(
  "approvals",
  "List the pending approvals of a remote strata serve (with the exact call)",
  (c) => c.call("approval/list", {}),
  (as) =>
    as.length === 0
      ? "no pending approvals"
      : as
          .map((a) => `${a.id}  ${a.command ?? a.call.name}  ${JSON.stringify(a.call.arguments)}  (${a.reason})`)
          .join("\n")
)
const jobs = list(
  "jobs",
  "List the jobs of a remote strata serve",
  (c) => c.call("jobs/list", {}),
  (js) => (js.length === 0 ? "no jobs" : js.map((j) => `${j.id}  ${j.status.padEnd(9)} ${j.name}`).join("\n"))
)

const always = Options.boolean("always").pipe(
  Options.withDescription(
    "Also add an allow rule for exactly this command (each simple command's argv) to the server project's .strata/approved.toml"
  )
)

const answer = (decision: "approve" | "deny") =>
  Command.make(decision, { url, json, always, id: Args.text({ name: "approval" }) }, (o) =>
    Effect.gen(function* () {
      if (o.always && decision === "deny") {
        return yield* new CliError({ detail: "--always only goes with approve", code: 2 })
      }
      const client = yield* clientOf(o.url)
      const resolved = yield* call(() =>
        client.call("approval/resolve", { approval_id: o.id, decision: o.always ? "approve_always" : decision })
      )
      yield* print(o.json, resolved, (r) =>
        [
          `${r.approval.id} ${r.approval.status}${r.continued ? "; the turn continues" : ""}`,
          ...(r.rules === undefined
            ? []
            : r.rules.length === 0
              ? ["no rule added: every command here needs a person each time"]
              : [
                  `rule${r.rules.length === 1 ? "" : "s"} added:`,
                  ...r.rules.map((rule) => Decision.escapeControls(rule.trimEnd()))
                ])
        ].join("\n")
      )
    })
  ).pipe(
    Command.withDescription(
      decision === "approve"
        ? "Approve a pending approval on a remote strata serve (--always: and allow exactly this command from now on)"
        : "Deny a pending approval on a remote strata serve"
    )
  )

/**
 * @since 0.2.0
 * @category commands
 */
export const remote = Command.make("remote").pipe(
  Command.withDescription("Drive a running strata serve: run, threads, approvals, approve, deny, jobs"),
  Command.withSubcommands([runRemote, threads, approvals, answer("approve"), answer("deny"), jobs])
)
