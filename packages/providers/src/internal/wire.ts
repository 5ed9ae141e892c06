/**
 * The wire format of a provider kind, imported when a request first needs
 * it: a session loads the adapter of the provider it calls, not all three.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import type { ProviderKind } from "../ModelConfig.js"
import type { WireFormat } from "../WireFormat.js"

const loaded = new Map<string, WireFormat>()

const importFor = (kind: ProviderKind): Promise<WireFormat> => {
  switch (kind) {
    case "anthropic":
      return import("./anthropicMessages.js").then((m) => m.wireFormat)
    case "ollama":
      return import("./ollamaChat.js").then((m) => m.wireFormat)
    default:
      return import("./openAiChat.js").then((m) => m.wireFormat)
  }
}

/** The wire format of `kind` (as `WireFormat.forKind`), imported on first use. */
export const load = (kind: ProviderKind): Effect.Effect<WireFormat> =>
  Effect.suspend(() => {
    const known = loaded.get(kind)
    if (known !== undefined) return Effect.succeed(known)
    return Effect.map(
      Effect.promise(() => importFor(kind)),
      (wire) => {
        loaded.set(kind, wire)
        return wire
      }
    )
  })
