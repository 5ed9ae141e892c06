/**
 * The scripted model server: a real HTTP server on 127.0.0.1 speaking the
 * providers' wire formats. The code lives in
 * `@strata/demo/node/ScriptedModelServer` (the CLI's demo model uses it
 * too); this module re-exports it unchanged.
 *
 * @since 0.1.0
 */
export * from "@strata/demo/node/ScriptedModelServer"
