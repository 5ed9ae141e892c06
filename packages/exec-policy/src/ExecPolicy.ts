/**
 * The `ExecPolicy` service: decides whether a shell command may run
 * (`allow`), must be approved first (`ask`) or is refused (`deny`), from
 * layered TOML rule files and a real bash parse of the command.
 *
 * Its promise: no command runs without asking unless every program it would
 * execute is allowed by a rule. See `CONTRACT.md` of the policy folder for
 * the semantics and the package README for the rule format.
 *
 * @example
 * ```ts
 * import { ExecPolicy } from "@strata/exec-policy"
 * import { NodeContext } from "@effect/platform-node"
 * import * as Effect from "effect/Effect"
 *
 * const program = Effect.gen(function* () {
 *   const policy = yield* ExecPolicy.ExecPolicy
 *   const d = yield* policy.check("git status && rm -rf build", { cwd: "/repo" })
 *   // d.decision === "deny", d.commands[1].rule?.line === 7
 * })
 * program.pipe(
 *   Effect.provide(ExecPolicy.layer({ files: ["policy.toml"] })),
 *   Effect.provide(NodeContext.layer),
 *   Effect.runPromise
 * )
 * ```
 *
 * @since 0.1.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import type * as Tool from "@strata/protocol/Tool"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import type { Decision, RuleLayer, Verdict } from "./Decision.js"
import { ParserError, RuleFileError } from "./ExecPolicyError.js"
import type { Engine } from "./internal/engine.js"
import { defaultLimits, type Limits as InternalLimits } from "./internal/model.js"
import { defaultOf, type RuleSource as InternalRuleSource, parseRuleFiles, type RuleFile } from "./internal/rules.js"
import type * as ProtectedPaths from "./ProtectedPaths.js"

/**
 * Bounds on one decision. Input longer than `maxInputLength` characters is
 * refused (`ask`) without parsing; syntax nested deeper than `maxDepth`, or
 * `bash -c` scripts nested deeper than `maxShellDepth`, are refused; a
 * decision that passes `timeBudgetMs` (parse included) is `ask`.
 *
 * @since 0.1.0
 * @category models
 */
export type Limits = InternalLimits

/**
 * The limits used when none are given: 32,768 characters, depth 200,
 * 8 nested shells, 100 ms. Parsing costs about 1-2 µs per character, so a
 * command at the size limit is decided well within the time budget.
 *
 * @since 0.1.0
 * @category constructors
 */
export const defaults: Limits = defaultLimits

/**
 * The shell language the engine models: bash, as the shell tool runs it
 * (`bash --noprofile --norc -c`, non-interactive). Scripts given to other
 * shells (`sh -c`, `zsh -c`) ask where their reading may differ.
 *
 * @since 0.2.0
 * @category constants
 */
export const dialect = "bash" as const

/**
 * {@link dialect}, in words, for `strata policy check`.
 *
 * @since 0.2.0
 * @category constants
 */
export const dialectDescription =
  "bash (non-interactive, --noprofile --norc, as the shell tool runs it; scripts for sh/dash ask where they read differently, zsh/ksh scripts ask)"

/**
 * A rule file given as text: its name (shown in explanations and errors),
 * its layer and its TOML.
 *
 * @since 0.1.0
 * @category models
 */
export interface RuleSource {
  readonly file: string
  readonly layer: RuleLayer
  readonly text: string
}

/**
 * The built-in defaults, the lowest layer: `default = "ask"` and no rule.
 * What is safe to run unattended is the user's and the project's call.
 *
 * @since 0.1.0
 * @category constructors
 */
export const builtinRules: RuleSource = {
  file: "<builtin>",
  layer: "builtin",
  text: [
    "# Strata's built-in exec-policy defaults, the lowest layer.",
    "# No built-in rule allows anything: every command asks unless a user,",
    "# project or command-line rule file allows it.",
    'default = "ask"',
    ""
  ].join("\n")
}

/**
 * Options of one check: the working directory the command would run in
 * (recorded in the decision) and the approval mode applied after the rules
 * decided (default `on-request`).
 *
 * @since 0.1.0
 * @category models
 */
export interface CheckOptions {
  readonly cwd?: string | undefined
  readonly approval?: Tool.AskForApproval | undefined
  /**
   * The user's home directory: `~` and the user's protected config
   * (`~/.config/strata/`, `~/.strata/`) are resolved against it.
   */
  readonly home?: string | undefined
  /**
   * Protected paths besides the defaults of `cwd` and `home`: a command
   * that names one (argument, option value, redirection) is at least `ask`.
   */
  readonly protectedPaths?: ProtectedPaths.ProtectedPaths | undefined
}

/**
 * A rule file in force, as loaded.
 *
 * @since 0.1.0
 * @category models
 */
export interface LoadedFile {
  readonly file: string
  readonly layer: RuleLayer
  readonly rules: number
  readonly default: Verdict | undefined
}

/**
 * The service.
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /**
   * Decides a command string. Never fails: input that cannot be parsed or
   * analysed within the limits is `ask`, with the reason in the decision.
   * Not traced (a hot path); trace the operation that calls it.
   */
  readonly check: (command: string, options?: CheckOptions) => Effect.Effect<Decision>
  /**
   * The synchronous form of `check`, for hot loops (batch mode, benchmarks).
   * On a deferred policy (`makeDeferred`) it needs `ready` to have run: it
   * throws until then.
   */
  readonly checkSync: (command: string, options?: CheckOptions) => Decision
  /**
   * Loads what deciding needs and has not loaded yet: on a deferred policy
   * (`makeDeferred`), the bash grammar and the check of every rule's
   * `match` / `not_match` examples, once (the outcome is kept: a failure
   * fails every later call the same way); on other policies nothing.
   * `check` runs it first; a failure there is a defect carrying the same
   * error, so a caller that wants it typed runs `ready` before `check`.
   */
  readonly ready: Effect.Effect<void, RuleFileError | ParserError>
  /** The rule files in force, lowest layer first. */
  readonly files: ReadonlyArray<LoadedFile>
  /** The decision when no rule matches: the highest layer's `default`, else `ask`. */
  readonly defaultDecision: Verdict
}

/**
 * The exec-policy service tag.
 *
 * @since 0.1.0
 * @category tags
 */
export class ExecPolicy extends Context.Tag("@strata/exec-policy/ExecPolicy")<ExecPolicy, Service>() {}

/**
 * Options of `make` / `layer`. Rule files are layered built-in < `user` <
 * `project` < `files` (the command line's `--rules`, in order) < `sources`
 * (given as text, each with its own layer). `user` and `project` are skipped
 * when the file does not exist; every path in `files` must exist.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly user?: string | undefined
  readonly project?: string | undefined
  readonly files?: ReadonlyArray<string> | undefined
  readonly sources?: ReadonlyArray<RuleSource> | undefined
  /** Include the built-in defaults (default `true`). */
  readonly builtin?: boolean | undefined
  readonly limits?: Partial<Limits> | undefined
  /** The bytes of `tree-sitter-bash.wasm`; read through `FileSystem` when absent. */
  readonly grammar?: Uint8Array | undefined
}

const GRAMMAR = "tree-sitter-bash/tree-sitter-bash.wasm"

/** A `file:` URL as a path (`file:///C:/x` is `C:/x`); `undefined` for other URLs. */
const fileUrlToPath = (url: string): string | undefined => {
  if (!url.startsWith("file://")) return undefined
  const p = decodeURIComponent(url.slice("file://".length).replace(/^localhost(?=\/)/, ""))
  return /^\/[A-Za-z]:/.test(p) ? p.slice(1) : p
}

/**
 * Reads the bytes of `tree-sitter-bash.wasm` through `FileSystem`: resolved
 * with `import.meta.resolve` where the runtime has it, else looked for in
 * the `node_modules` folders above this module.
 *
 * @since 0.1.0
 * @category constructors
 */
export const loadGrammar: Effect.Effect<Uint8Array, ParserError, FileSystem.FileSystem | Path.Path> = Effect.gen(
  function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const candidates: Array<string> = []
    const meta = import.meta as { resolve?: (s: string) => string; url?: string }
    if (typeof meta.resolve === "function") {
      const resolve = meta.resolve
      const url = yield* Effect.try(() => resolve(GRAMMAR)).pipe(Effect.option)
      const p = url._tag === "Some" ? fileUrlToPath(url.value) : undefined
      if (p !== undefined) candidates.push(p)
    }
    const here = meta.url === undefined ? undefined : fileUrlToPath(meta.url)
    if (here !== undefined) {
      let dir = path.dirname(here)
      for (;;) {
        candidates.push(path.join(dir, "node_modules", GRAMMAR))
        const parent = path.dirname(dir)
        if (parent === dir) break
        dir = parent
      }
    }
    for (const candidate of candidates) {
      const bytes = yield* fs.readFile(candidate).pipe(Effect.option)
      if (bytes._tag === "Some") return bytes.value
    }
    return yield* new ParserError({
      reason: "GrammarNotFound",
      path: candidates[0] ?? GRAMMAR,
      detail: `could not read ${GRAMMAR} (looked in ${candidates.length} places); pass its bytes as \`grammar\``
    })
  }
).pipe(Effect.withSpan("ExecPolicy.readGrammar"))

/** The engine and the grammar's runtime, imported on first use (see `internal/loaded.ts`). */
const loadedModule = Effect.promise(() => import("./internal/loaded.js"))

/** The clocks and the task queue every supported runtime has (not in the ES lib). */
declare const performance: { now(): number }
declare const setImmediate: ((callback: () => void) => unknown) | undefined
declare const setTimeout: (callback: () => void, ms: number) => unknown

/**
 * Lets the event loop run what is waiting (I/O callbacks, timers) before the
 * next step: a macrotask, not a microtask, so that a policy loaded in the
 * background does not hold back the writes of the turn it runs beside.
 */
const macrotask: Effect.Effect<void> = Effect.async<void>((resume) => {
  const go = () => resume(Effect.void)
  if (typeof setImmediate === "function") setImmediate(go)
  else setTimeout(go, 0)
})

/**
 * The longest a background build runs before it lets the event loop in
 * (milliseconds): at every step where a macrotask costs nothing
 * (`setImmediate`), else every few milliseconds (a `setTimeout` waits 1 ms
 * at least).
 */
const SLICE_MS = typeof setImmediate === "function" ? 0 : 4

/**
 * Builds the engine from parsed rule files: loads the grammar, runs every
 * rule's examples. `sliced`: the grammar's runtime, the grammar, each rule's
 * examples and each warm-up decision run as steps with a macrotask between
 * them (see {@link SLICE_MS}: a deferred policy's `ready`, which may run in
 * the background while a turn writes its events); else in one go.
 */
const buildEngine = (
  files: ReadonlyArray<RuleFile>,
  sources: ReadonlyArray<InternalRuleSource>,
  grammar: Effect.Effect<Uint8Array, ParserError>,
  limits: Limits,
  sliced = false
): Effect.Effect<Engine, RuleFileError | ParserError> =>
  Effect.gen(function* () {
    const invalid = (cause: unknown) =>
      new ParserError({
        reason: "GrammarInvalid",
        detail: cause instanceof Error ? cause.message : String(cause),
        cause
      })
    // the grammar's bytes are read while the engine's modules load and the grammar's runtime compiles
    const [bytes, { BashSyntax, Engine, WARM_UP }] = yield* Effect.all(
      [
        grammar,
        Effect.withSpan(loadedModule, "ExecPolicy.import").pipe(
          Effect.tap(() => (sliced ? macrotask : Effect.void)),
          Effect.tap((loaded) => Effect.tryPromise({ try: () => loaded.BashSyntax.init(), catch: invalid }))
        )
      ],
      { concurrency: "unbounded" }
    )
    const syntax = yield* Effect.tryPromise({ try: () => BashSyntax.load(bytes), catch: invalid }).pipe(
      Effect.withSpan("ExecPolicy.loadGrammar")
    )
    // the rules' match / not_match examples are parsed and decided here
    if (!sliced) {
      const built = yield* Effect.withSpan(
        Effect.sync(() => Engine.build(files, sources, syntax, limits)),
        "ExecPolicy.build"
      )
      if (Either.isLeft(built)) return yield* built.left
      return built.right
    }
    return yield* Effect.withSpan(
      Effect.gen(function* () {
        const engine = new Engine(files, syntax, limits)
        const texts = new Map(sources.map((s) => [s.file, s.text]))
        let since = performance.now()
        const step = Effect.suspend(() => {
          if (SLICE_MS > 0 && performance.now() - since < SLICE_MS) return Effect.void
          return Effect.zipRight(
            macrotask,
            Effect.sync(() => {
              since = performance.now()
            })
          )
        })
        for (const f of files) {
          for (const rule of f.rules) {
            yield* step
            const failed = engine.verifyExamples(rule, texts.get(f.file))
            if (failed !== undefined) return yield* failed
          }
        }
        // Warm the parser and the analysis up, as `Engine.build` does.
        for (const warm of WARM_UP) {
          yield* step
          engine.decide(warm)
        }
        return engine
      }),
      "ExecPolicy.build"
    )
  })

const loadedFiles = (files: ReadonlyArray<RuleFile>): ReadonlyArray<LoadedFile> =>
  files.map((f) => ({ file: f.file, layer: f.layer, rules: f.rules.length, default: f.default }))

const fromEngine = (engine: Engine): Service => {
  const checkSync = (command: string, options?: CheckOptions): Decision => engine.decide(command, options)
  return {
    // Not wrapped in a span: a decision takes tens of microseconds and a span
    // would add about ten; trace the caller (the tool invocation) instead.
    check: (command: string, options?: CheckOptions) => Effect.sync(() => engine.decide(command, options)),
    checkSync,
    ready: Effect.void,
    files: loadedFiles(engine.files),
    defaultDecision: engine.defaultVerdict
  }
}

/**
 * How {@link makeFromSources} and {@link layerSources} build the policy: the
 * grammar's bytes, whether the built-in defaults come first (default yes)
 * and the analysis limits.
 *
 * @since 0.2.0
 * @category models
 */
export interface SourcesOptions {
  readonly grammar: Uint8Array
  readonly builtin?: boolean | undefined
  readonly limits?: Partial<Limits> | undefined
}

/**
 * Builds the service from rule sources given as text (lowest layer first;
 * the built-in defaults are prepended unless `builtin` is `false`) and the
 * grammar's bytes. Needs no platform service. Fails with a `RuleFileError`
 * naming file, line, column and rule, or a `ParserError`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeFromSources: (
  sources: ReadonlyArray<RuleSource>,
  options: SourcesOptions
) => Effect.Effect<Service, RuleFileError | ParserError> = Effect.fn("ExecPolicy.makeFromSources")(function* (
  sources: ReadonlyArray<RuleSource>,
  options: SourcesOptions
) {
  const all: Array<InternalRuleSource> = options.builtin === false ? [...sources] : [builtinRules, ...sources]
  const limits: Limits = { ...defaultLimits, ...options.limits }
  const files = parseRuleFiles(all)
  if (Either.isLeft(files)) return yield* files.left
  return fromEngine(yield* buildEngine(files.right, all, Effect.succeed(options.grammar), limits))
})

/**
 * Builds the service with the grammar loaded on the first decision: the
 * rule files are read and checked now (TOML, shape, decisions: a
 * `RuleFileError` naming file, line and rule), while the bash grammar (a
 * WebAssembly compile, the costliest part of loading) and the check of the
 * rules' `match` / `not_match` examples (which parse) wait for `ready`,
 * which the first `check` runs. A session that never runs a shell command
 * never loads the grammar. `grammar` gives the grammar's bytes when asked.
 *
 * @since 0.2.0
 * @category constructors
 */
export const makeDeferred = (
  sources: ReadonlyArray<RuleSource>,
  options: {
    readonly grammar: Effect.Effect<Uint8Array, ParserError>
    readonly builtin?: boolean | undefined
    readonly limits?: Partial<Limits> | undefined
  }
): Effect.Effect<Service, RuleFileError> =>
  Effect.gen(function* () {
    const all: Array<InternalRuleSource> = options.builtin === false ? [...sources] : [builtinRules, ...sources]
    const limits: Limits = { ...defaultLimits, ...options.limits }
    const parsed = parseRuleFiles(all)
    if (Either.isLeft(parsed)) return yield* parsed.left
    const files = parsed.right
    let engine: Engine | undefined
    const ready = yield* Effect.cached(
      buildEngine(files, all, options.grammar, limits, true).pipe(
        Effect.tap((built) =>
          Effect.sync(() => {
            engine = built
          })
        ),
        Effect.asVoid,
        Effect.withSpan("ExecPolicy.ready")
      )
    )
    const checkSync = (command: string, checkOptions?: CheckOptions): Decision => {
      if (engine === undefined)
        throw new Error("ExecPolicy.checkSync: the deferred policy is not loaded: run `ready` first")
      return engine.decide(command, checkOptions)
    }
    return {
      check: (command: string, checkOptions?: CheckOptions) =>
        engine === undefined
          ? Effect.zipRight(
              Effect.orDie(ready),
              Effect.sync(() => checkSync(command, checkOptions))
            )
          : Effect.sync(() => engine!.decide(command, checkOptions)),
      checkSync,
      ready,
      files: loadedFiles(files),
      defaultDecision: defaultOf(files)
    } satisfies Service
  })

const readRuleFile = (
  fs: FileSystem.FileSystem,
  file: string,
  layer: RuleLayer,
  required: boolean
): Effect.Effect<RuleSource | undefined, RuleFileError> =>
  fs.readFileString(file).pipe(
    Effect.map((text): RuleSource | undefined => ({ file, layer, text })),
    Effect.catchAll((error) => {
      const notFound = error._tag === "SystemError" && error.reason === "NotFound"
      if (notFound && !required) return Effect.succeed(undefined)
      return Effect.fail(
        new RuleFileError({
          reason: notFound ? "NotFound" : "Unreadable",
          file,
          detail: notFound ? "no such rule file" : `cannot read the rule file: ${error.message}`,
          cause: error
        })
      )
    })
  )

/**
 * Builds the service: reads the rule files of every layer through
 * `FileSystem` (see `Options`), loads the grammar (from `options.grammar`
 * or through `FileSystem`), validates every rule and runs its `match` /
 * `not_match` examples.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: (
  options?: Options
) => Effect.Effect<Service, RuleFileError | ParserError, FileSystem.FileSystem | Path.Path> = Effect.fn(
  "ExecPolicy.make"
)(function* (options: Options = {}) {
  const fs = yield* FileSystem.FileSystem
  const sources: Array<RuleSource> = []
  const add = (s: RuleSource | undefined) => {
    if (s !== undefined) sources.push(s)
  }
  if (options.user !== undefined) add(yield* readRuleFile(fs, options.user, "user", false))
  if (options.project !== undefined) add(yield* readRuleFile(fs, options.project, "project", false))
  for (const file of options.files ?? []) add(yield* readRuleFile(fs, file, "cli", true))
  for (const s of options.sources ?? []) sources.push(s)
  const grammar = options.grammar ?? (yield* loadGrammar)
  return yield* makeFromSources(sources, { grammar, builtin: options.builtin, limits: options.limits })
})

/**
 * The service as a layer, from rule files (see `make`). Requires
 * `FileSystem` and `Path` (`NodeContext.layer` on Node, Bun and Deno).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options = {}
): Layer.Layer<ExecPolicy, RuleFileError | ParserError, FileSystem.FileSystem | Path.Path> =>
  Layer.effect(ExecPolicy, make(options))

/**
 * The service as a layer from rule sources given as text and the grammar's
 * bytes; no platform service needed.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerSources = (
  sources: ReadonlyArray<RuleSource>,
  options: SourcesOptions
): Layer.Layer<ExecPolicy, RuleFileError | ParserError> => Layer.effect(ExecPolicy, makeFromSources(sources, options))

/**
 * Decides a command with the service in context.
 *
 * @since 0.1.0
 * @category accessors
 */
export const check = (command: string, options?: CheckOptions): Effect.Effect<Decision, never, ExecPolicy> =>
  Effect.flatMap(ExecPolicy, (policy) => policy.check(command, options))
