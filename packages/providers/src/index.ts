/**
 * `@strata/providers`: the model registry and one streaming `LanguageModel`
 * over OpenAI-compatible servers, DeepSeek, OpenRouter, Anthropic and Ollama.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as Chat from "./Chat.js"
/** @since 0.1.0 */
export * as LanguageModel from "./LanguageModel.js"
/** @since 0.1.0 */
export * as ModelConfig from "./ModelConfig.js"
/** @since 0.1.0 */
export * as ModelRegistry from "./ModelRegistry.js"
/** @since 0.1.0 */
export * as ProviderError from "./ProviderError.js"
/** @since 0.1.0 */
export * as StreamPart from "./StreamPart.js"
/** @since 0.1.0 */
export * as WireFormat from "./WireFormat.js"
