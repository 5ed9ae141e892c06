import type { Model as ProtocolModel } from "@strata/protocol"
import type { Model } from "../ModelRegistry.js"
import type { ProviderError } from "../ProviderError.js"
import type { StreamPart } from "../StreamPart.js"
import type { Decoder } from "../WireFormat.js"
import { parseArguments, toolCallId } from "./http.js"
import { cost } from "./modelRegistry.js"

/** Builds the terminal `finish` part, with the cost at the model's prices when usage was reported. */
export const finishPart = (
  model: Model,
  reason: ProtocolModel.FinishReason,
  usage: ProtocolModel.Usage | undefined
): StreamPart => {
  if (usage === undefined)
    return { type: "finish", model: model.id, reason, usage: { input_tokens: 0, output_tokens: 0 } }
  const usd = cost(model, usage)
  return { type: "finish", model: model.id, reason, usage: usd === undefined ? usage : { ...usage, cost_usd: usd } }
}

/** Emits an assembled tool call: a `tool_call`, or a `tool_call_error` the turn reports back to the model. */
export const emitToolCall = (
  out: Array<StreamPart>,
  rawId: string | undefined,
  name: string,
  rawArguments: string
): void => {
  const id = toolCallId(rawId)
  if (name === "") {
    out.push({
      type: "tool_call_error",
      id,
      name,
      reason: "MissingName",
      raw_arguments: rawArguments,
      message: "The tool call has no tool name."
    })
    return
  }
  const parsed = parseArguments(rawArguments)
  if (parsed.ok) {
    out.push({ type: "tool_call", id, name, arguments: parsed.value as never })
  } else {
    out.push({
      type: "tool_call_error",
      id,
      name,
      reason: "InvalidJson",
      raw_arguments: rawArguments,
      message: `The arguments of tool "${name}" are not valid JSON (${parsed.message}). Call the tool again with a JSON object as arguments.`
    })
  }
}

export const nonNegInt = (u: unknown): number | undefined =>
  typeof u === "number" && Number.isFinite(u) && u >= 0 ? Math.round(u) : undefined

/** What every wire decoder keeps between chunks: where parts go, whether it finished, why it failed. */
export interface State {
  out: Array<StreamPart>
  done: boolean
  failure: ProviderError | undefined
}

/** A fresh decoder state. */
export const initial = (): State => ({ out: [], done: false, failure: undefined })

/**
 * The `Decoder` around a wire's parser: `feed` parses a chunk of text (its
 * events push parts to `state.out`, or set `state.done` / `state.failure`),
 * `flush` parses what is left at the end of the body, and `unfinished` says
 * what a body that ended before the wire's last event means (an error, or
 * the turn completed as it stands).
 */
export const decoder = (
  state: State,
  wire: {
    readonly feed: (text: string) => void
    readonly flush: () => void
    readonly unfinished: () => ProviderError | undefined
  }
): Decoder => ({
  push: (text, into) => {
    state.out = into
    wire.feed(text)
    return state.failure
  },
  end: (into) => {
    state.out = into
    wire.flush()
    if (state.failure !== undefined || state.done) return state.failure
    return wire.unfinished()
  },
  done: () => state.done
})
