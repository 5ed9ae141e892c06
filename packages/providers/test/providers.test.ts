import * as ProviderSuite from "./ProviderSuite.js"

// One suite, every provider kind, each against its own wire on a local scripted server.
ProviderSuite.run("openai-compatible", { rawToolArguments: true, cachedTokens: true })
ProviderSuite.run("deepseek", { rawToolArguments: true, cachedTokens: true })
ProviderSuite.run("openrouter", { rawToolArguments: true, cachedTokens: true })
ProviderSuite.run("anthropic", { rawToolArguments: true, cachedTokens: true })
// Ollama's native API sends tool arguments as JSON objects and reports no cache hits.
ProviderSuite.run("ollama", { rawToolArguments: false, cachedTokens: false })
