import * as Hook from "@strata/hooks/Hook"
import * as HookDispatcher from "@strata/hooks/HookDispatcher"
import type { Common } from "@strata/protocol"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import type * as Plugin from "../Plugin.js"
import { PluginLoadError } from "../PluginError.js"
import * as Tool from "../Tool.js"

const ID_PATTERN = /^[a-z0-9]+(?:-[a-z0-9]+)*$/
const MAX_ID = 32
const MAX_TOOL_NAME = 64

type Fail = (detail: string, path?: string) => Either.Either<never, PluginLoadError>

const isObject = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null

/** @internal */
export const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e))

/** Resolves a local `$ref` (`#/$defs/X`) of a JSON Schema document. */
const deref = (root: Record<string, unknown>, node: unknown): Record<string, unknown> | undefined => {
  let current = node
  for (let i = 0; i < 16 && isObject(current) && typeof current.$ref === "string"; i++) {
    const name = current.$ref.replace(/^#\/\$defs\//, "")
    current = isObject(root.$defs) ? root.$defs[name] : undefined
  }
  return isObject(current) ? current : undefined
}

const checkTool = (
  tool: unknown,
  i: number,
  id: string,
  fail: Fail
): Either.Either<Plugin.ToolManifest, PluginLoadError> => {
  const at = `tools[${i}]`
  if (!isObject(tool)) return fail("a tool must be an object made with defineTool", at)
  const name = tool.name
  if (typeof name !== "string" || !Tool.NAME_PATTERN.test(name)) {
    return fail(
      `tool name ${JSON.stringify(name)} must be letters and digits joined by single "_" or "-" (never "__")`,
      `${at}.name`
    )
  }
  const qualified = Tool.qualifiedName(id, name)
  if (qualified.length > MAX_TOOL_NAME) {
    return fail(`the qualified tool name "${qualified}" is longer than ${MAX_TOOL_NAME} characters`, `${at}.name`)
  }
  if (typeof tool.description !== "string" || tool.description.trim() === "") {
    return fail(`tool "${name}" needs a description for the model`, `${at}.description`)
  }
  for (const key of ["input", "output"] as const) {
    if (!Schema.isSchema(tool[key])) return fail(`tool "${name}" ${key} must be an effect Schema`, `${at}.${key}`)
  }
  if (typeof tool.run !== "function") return fail(`tool "${name}" needs a run function`, `${at}.run`)
  let described: Tool.Description
  try {
    described = Tool.describe(tool as unknown as Tool.Any<any>, qualified)
  } catch (error) {
    return fail(`tool "${name}" has a schema without a JSON Schema form: ${messageOf(error)}`, at)
  }
  const root = described.input_schema as Record<string, unknown>
  const input = deref(root, root)
  if (input?.type !== "object") return fail(`tool "${name}" input must be a Struct (a JSON object)`, `${at}.input`)
  const properties = isObject(input.properties) ? input.properties : {}
  for (const [field, schema] of Object.entries(properties)) {
    const direct = isObject(schema) ? schema.description : undefined
    const target = deref(root, schema)?.description
    if (typeof direct !== "string" && typeof target !== "string") {
      return fail(`tool "${name}" input field "${field}" has no description annotation`, `${at}.input.${field}`)
    }
  }
  return Either.right({
    name: qualified,
    local_name: name,
    description: described.description,
    input_schema: described.input_schema,
    output_schema: described.output_schema
  })
}

const checkHook = (
  hook: unknown,
  i: number,
  id: string,
  fail: Fail
): Either.Either<Plugin.HookManifest, PluginLoadError> => {
  const checked = Hook.check(hook, { path: `hooks[${i}]`, owner: id, index: i + 1 })
  if (Either.isLeft(checked)) return fail(checked.left.detail, checked.left.path)
  const info = checked.right
  return Either.right({
    id: info.id,
    events: info.events,
    ...(info.matcher === undefined ? {} : { matcher: info.matcher }),
    priority: info.priority
  })
}

/** @internal */
export const validate = (value: unknown, source = "inline"): Effect.Effect<Plugin.Plugin, PluginLoadError> =>
  Effect.suspend((): Either.Either<Plugin.Plugin, PluginLoadError> => {
    const failWith =
      (plugin: string): Fail =>
      (detail, path) =>
        Either.left(
          new PluginLoadError({ plugin, reason: "InvalidPlugin", detail, ...(path === undefined ? {} : { path }) })
        )
    let fail = failWith(source)
    if (!isObject(value)) return fail("the module does not export a plugin object (use definePlugin)")
    const id = value.id ?? value.name
    if (typeof id !== "string" || !ID_PATTERN.test(id) || id.length > MAX_ID) {
      return fail(
        `plugin id ${JSON.stringify(id)} must be lowercase letters and digits in "-"-separated words, at most ${MAX_ID} characters`,
        value.id === undefined ? "name" : "id"
      )
    }
    if (source === "inline") fail = failWith(id)
    if (typeof value.version !== "string" || value.version.trim() === "") {
      return fail("version must be a non-empty string", "version")
    }
    if (value.description !== undefined && typeof value.description !== "string") {
      return fail("description must be a string", "description")
    }
    if (value.layer !== undefined && !Layer.isLayer(value.layer)) return fail("layer must be an effect Layer", "layer")
    for (const key of ["tools", "hooks", "jobs"] as const) {
      if (value[key] !== undefined && !Array.isArray(value[key])) return fail(`${key} must be an array`, key)
    }
    const tools: Array<Plugin.ToolManifest> = []
    const seen = new Map<string, number>()
    const rawTools = (value.tools ?? []) as ReadonlyArray<unknown>
    for (let i = 0; i < rawTools.length; i++) {
      const checked = checkTool(rawTools[i], i, id, fail)
      if (Either.isLeft(checked)) return Either.left(checked.left)
      const first = seen.get(checked.right.local_name)
      if (first !== undefined) {
        return fail(
          `tool "${checked.right.local_name}" is defined twice (tools[${first}] and tools[${i}])`,
          `tools[${i}].name`
        )
      }
      seen.set(checked.right.local_name, i)
      tools.push(checked.right)
    }
    const hooks: Array<Plugin.HookManifest> = []
    const rawHooks = (value.hooks ?? []) as ReadonlyArray<unknown>
    for (let i = 0; i < rawHooks.length; i++) {
      const checked = checkHook(rawHooks[i], i, id, fail)
      if (Either.isLeft(checked)) return Either.left(checked.left)
      if (hooks.some((h) => h.id === checked.right.id)) {
        return fail(`hook "${checked.right.id}" is defined twice`, `hooks[${i}].name`)
      }
      hooks.push(checked.right)
    }
    const jobs: Array<Plugin.JobManifest> = []
    const rawJobs = (value.jobs ?? []) as ReadonlyArray<unknown>
    for (let i = 0; i < rawJobs.length; i++) {
      const job = rawJobs[i]
      if (!isObject(job)) return fail("a job must be an object (use defineJob)", `jobs[${i}]`)
      if (typeof job.kind !== "string" || !/^[a-z0-9_-]{1,48}$/.test(job.kind)) {
        return fail(`job kind ${JSON.stringify(job.kind)} must be 1..48 of [a-z0-9_-]`, `jobs[${i}].kind`)
      }
      if (typeof job.run !== "function") return fail("a job needs a run function", `jobs[${i}].run`)
      if (job.description !== undefined && typeof job.description !== "string") {
        return fail("description must be a string", `jobs[${i}].description`)
      }
      const name = `${id}__${job.kind}`
      if (jobs.some((j) => j.name === name)) return fail(`job kind "${job.kind}" is defined twice`, `jobs[${i}].kind`)
      jobs.push({
        name,
        kind: job.kind,
        ...(typeof job.description === "string" ? { description: job.description } : {})
      })
    }
    const manifest: Plugin.PluginManifest = {
      id,
      version: value.version,
      ...(typeof value.description === "string" ? { description: value.description } : {}),
      tools,
      hooks,
      jobs,
      has_layer: value.layer !== undefined
    }
    return Either.right({
      id,
      version: value.version,
      source,
      manifest,
      definition: value as unknown as Plugin.PluginDefinition<any>
    })
  })

/** @internal */
export const build = (plugin: Plugin.Plugin) =>
  Effect.gen(function* () {
    const definition = plugin.definition
    const host = yield* Effect.context<Plugin.HostPlatform>()
    const built =
      definition.layer === undefined
        ? Context.empty()
        : yield* Layer.build(definition.layer).pipe(
            Effect.catchAllCause((cause) =>
              Effect.fail(
                new PluginLoadError({
                  plugin: plugin.id,
                  reason: "LayerFailed",
                  detail: `the plugin's layer failed to build: ${messageOf(Cause.squash(cause))}`,
                  cause
                })
              )
            )
          )
    // The plugin's own services shadow the host's (a plugin shipping its own
    // `Workspace` keeps it), for this plugin only.
    const context = Context.merge(host, built as Context.Context<never>)
    const provide = <A, E>(effect: Effect.Effect<A, E, any>) => Effect.provide(effect, context as Context.Context<any>)
    const tools: Array<Plugin.RegisteredTool> = (definition.tools ?? []).map((tool, i) => {
      const manifest = plugin.manifest.tools[i]!
      return {
        name: manifest.name,
        localName: manifest.local_name,
        owner: plugin.id,
        definition: tool,
        description: {
          name: manifest.name,
          description: manifest.description,
          input_schema: manifest.input_schema,
          output_schema: manifest.output_schema
        },
        invoke: (input, ctx) => provide(Tool.invoke(tool, input, ctx, manifest.name)),
        validateInput: (input: Common.JsonValue) => Tool.validator(tool, manifest.name)(input)
      }
    })
    const hooks: Array<Hook.Any> = (definition.hooks ?? []).map((hook, i) => ({
      ...hook,
      // the manifest's id, so the dispatcher's id and the manifest agree
      name: plugin.manifest.hooks[i]!.id.slice(plugin.id.length + 1),
      run: (event: never) => provide(hook.run(event))
    }))
    const jobs: Array<Plugin.RegisteredJob> = (definition.jobs ?? []).map((job, i) => ({
      ...job,
      kind: plugin.manifest.jobs[i]!.name,
      run: (run) => provide(job.run(run))
    }))
    return {
      id: plugin.id,
      version: plugin.version,
      source: plugin.source,
      manifest: plugin.manifest,
      tools,
      hooks,
      jobs
    }
  }).pipe(Effect.withSpan("Plugin.build", { attributes: { plugin: plugin.id } }))

/** @internal */
export const install = (plugin: Plugin.Plugin) =>
  Effect.gen(function* () {
    const built = yield* build(plugin)
    const dispatcher = yield* HookDispatcher.HookDispatcher
    yield* dispatcher.register(built.hooks, { owner: plugin.id }).pipe(
      Effect.mapError(
        (error) =>
          new PluginLoadError({
            plugin: plugin.id,
            reason: error.reason === "DuplicateName" ? "Collision" : "InvalidPlugin",
            detail: error.detail,
            path: error.path,
            cause: error
          })
      )
    )
    return built
  }).pipe(Effect.withSpan("Plugin.install", { attributes: { plugin: plugin.id } }))
