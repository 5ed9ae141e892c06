import { describe, expect, it } from "@effect/vitest"
import { Fault, forModel, Turn } from "@strata/testkit/ScriptedModel"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Inspectable from "effect/Inspectable"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Tracer from "effect/Tracer"
import { collectParts, harness, KEY, type Kind, withKey } from "./utils.js"

/** Records every span (name, attributes, events, exit) as text. */
const recordingTracer = (sink: Array<string>) => {
  let next = 0
  return Tracer.make({
    span: (name, parent, context, links, startTime, kind) => {
      const attributes = new Map<string, unknown>()
      const id = String(next++)
      const span: Tracer.Span = {
        _tag: "Span",
        name,
        spanId: id,
        traceId: "trace",
        parent,
        context,
        status: { _tag: "Started", startTime },
        attributes,
        links,
        sampled: true,
        kind,
        end: (_endTime, exit) => {
          sink.push(
            `span ${name} ${Inspectable.format(Object.fromEntries(attributes))} exit=${
              Exit.isFailure(exit) ? Cause.pretty(exit.cause) : "success"
            }`
          )
        },
        attribute: (key, value) => {
          attributes.set(key, value)
        },
        event: (eventName, _time, attrs) => {
          sink.push(`event ${eventName} ${Inspectable.format(attrs ?? {})}`)
        },
        addLinks: () => {}
      }
      return span
    },
    context: (f) => f()
  })
}

const recordingLogger = (sink: Array<string>) =>
  Logger.make(({ annotations, cause, logLevel, message }) => {
    sink.push(
      `log ${logLevel.label} ${Inspectable.format(message)} ${Inspectable.format(Object.fromEntries(annotations))} ${
        Cause.isEmpty(cause) ? "" : Cause.pretty(cause)
      }`
    )
  })

const kinds: ReadonlyArray<Kind> = ["openai-compatible", "deepseek", "openrouter", "anthropic", "ollama"]

describe("API keys never leak", () => {
  for (const kind of kinds) {
    it.scopedLive(`${kind}: errors, parts, logs and spans of failing requests hold no key`, () =>
      Effect.gen(function* () {
        const sink: Array<string> = []
        // Rate limited twice (a retry, then a fallback), then the backup answers 401 echoing the key it got.
        const { lm, server } = yield* harness(kind, {
          maxRetries: 1,
          turns: [
            Turn.fault(Fault.rateLimited({ retryAfterMs: 5 }), { match: forModel("model-a"), repeat: true }),
            Turn.fault(Fault.unauthorized(), { match: forModel("model-b") })
          ]
        })
        const exit = yield* collectParts(
          lm.stream({ model: "primary", messages: [{ role: "user", content: "hi" }] })
        ).pipe(
          Effect.withTracer(recordingTracer(sink)),
          Effect.withSpan("test.root"),
          Effect.provide(Logger.replace(Logger.defaultLogger, recordingLogger(sink))),
          Logger.withMinimumLogLevel(LogLevel.All),
          Effect.exit
        )
        expect(Exit.isSuccess(exit)).toBe(true)
        const { parts, error } = (exit as Exit.Success<Effect.Effect.Success<ReturnType<typeof collectParts>>, never>)
          .value
        expect(error).toMatchObject({ reason: "Unauthorized", model: "backup" })
        sink.push(JSON.stringify(parts), JSON.stringify(error), String(error), Inspectable.format(error))
        sink.push((error as Error).message, Cause.pretty(Cause.fail(error)))
        const everything = sink.join("\n")
        // Not vacuous: the key went over the wire, the server echoed it, spans and logs were captured.
        expect(server.requests).toHaveLength(3)
        const presented =
          kind === "anthropic" ? server.requests[0]!.headers["x-api-key"] : server.requests[0]!.headers.authorization
        expect(presented).toContain(KEY)
        expect(everything).toContain("[redacted]")
        expect(everything).toMatch(/span http\.client POST/)
        expect(everything).toMatch(/log WARN/)
        expect(everything).not.toContain(KEY)
        // Only the non-secret tail of the key would be a partial leak; check a long prefix too.
        expect(everything).not.toContain(KEY.slice(0, 16))
      }).pipe(Effect.withConfigProvider(withKey))
    )
  }
})
