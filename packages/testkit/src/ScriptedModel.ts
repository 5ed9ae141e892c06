/**
 * Scripted model turns and their rendering in the providers' wire formats.
 * The code lives in `@strata/demo` (the CLI's demo model uses it too); this
 * module re-exports it unchanged, so tests keep importing
 * `@strata/testkit/ScriptedModel`.
 *
 * @since 0.1.0
 */
export * from "@strata/demo/ScriptedModel"
