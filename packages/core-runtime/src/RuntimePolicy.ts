/**
 * The one place the exec policy of a session is put together: `strata run`,
 * the chat, `strata policy check` and `RuntimeLayer.layer` all call
 * {@link make}, so a command decides the same way everywhere. The layers,
 * lowest first (the strictest matching rule of any layer wins; the highest
 * layer that sets `default` sets it):
 *
 * 1. `built-in`: Strata's defaults (`default = "ask"`, no rule);
 * 2. `distribution`: the distribution's own rule files (for `strata`,
 *    `apps/cli/policy/strata.toml`);
 * 3. `user`: `$XDG_CONFIG_HOME/strata/policy.toml` (else
 *    `~/.config/strata/policy.toml`), then `~/.strata/policy.toml`, each
 *    when it exists;
 * 4. `project`: `.strata/policy.toml` in the project root, when it exists;
 * 5. `config`: the files `[policy] rules` names (relative to the project
 *    root, `~/` to the home directory; each must exist);
 * 6. `command line`: `--rules` files (each must exist).
 *
 * With `approved` (a running session: `RuntimeLayer.layer`), the project's
 * `.strata/approved.toml` sits between `project` and `config`: the allow
 * rules "approve always" added (`ApprovedRules`: each the exact argv of one
 * simple command, see `@strata/exec-policy/Remembered`). The policy in
 * force takes a rule the moment it is added, and later sessions read it.
 *
 * `[policy] builtin = false` drops layers 1 and 2; `isolated` keeps only
 * layers 1 and 6 (the built-in defaults and the command line's files: a
 * rule file checked on its own).
 *
 * @since 0.1.0
 */
import * as FileSystem from "@effect/platform/FileSystem"
import { Path } from "@effect/platform/Path"
import type { RuleLayer } from "@strata/exec-policy/Decision"
import * as ExecPolicy from "@strata/exec-policy/ExecPolicy"
import { type ParserError, RuleFileError } from "@strata/exec-policy/ExecPolicyError"
import * as Remembered from "@strata/exec-policy/Remembered"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type { RuntimeConfig } from "./RuntimeConfig.js"

/**
 * Where a session's rule files come from, besides its config.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The project root: `.strata/policy.toml` and relative `[policy] rules` resolve against it. */
  readonly cwd: string
  /** The home directory (`~/.strata/policy.toml`, `~/` in rule paths); default: `env.HOME`. */
  readonly home?: string | undefined
  /** The environment (`XDG_CONFIG_HOME`, `HOME`). */
  readonly env?: Readonly<Record<string, string | undefined>> | undefined
  /** The distribution's rule files, right above the built-in defaults. */
  readonly distribution?: ReadonlyArray<string> | undefined
  /** Command-line rule files (`--rules`), the highest layer. */
  readonly rules?: ReadonlyArray<string> | undefined
  /** Only the built-in defaults and `rules` (`strata policy check --isolated`). */
  readonly isolated?: boolean | undefined
  /** Read the project's `.strata/approved.toml` (rules added by "approve always"). */
  readonly approved?: boolean | undefined
  /**
   * Load the bash grammar and check the rules' examples on the first
   * decision instead of now (`ExecPolicy.makeDeferred`): a session that runs
   * no shell command never compiles the grammar. (The runtime starts that
   * load in the background when a model's reply names a shell tool:
   * `ToolInvoker.prepare`.) The rule files are read and
   * checked now either way. Default: `false` in {@link make}, `true` in
   * {@link layer} (a session's policy).
   */
  readonly deferred?: boolean | undefined
  /**
   * How often, at most, {@link layer} looks at `.strata/approved.toml`
   * (one `stat`: inode, size, mtime) before a decision, to take up rules
   * another process added (milliseconds; `0`: before every `check`).
   * Default: `0`.
   */
  readonly approvedPollMs?: number | undefined
}

/**
 * One layer of the policy: its name, its file (none for the built-in
 * defaults), whether the file must exist, and whether it was loaded.
 *
 * @since 0.1.0
 * @category models
 */
export interface PolicyLayer {
  readonly name: "built-in" | "distribution" | "user" | "project" | "approved" | "config" | "command line"
  readonly file: string | undefined
  readonly required: boolean
  readonly loaded: boolean
}

/**
 * The policy of a session and the layers it was made of, lowest first.
 *
 * @since 0.1.0
 * @category models
 */
export interface Made {
  readonly policy: ExecPolicy.Service
  readonly layers: ReadonlyArray<PolicyLayer>
}

const execLayer: { readonly [N in PolicyLayer["name"]]: RuleLayer } = {
  "built-in": "builtin",
  distribution: "builtin",
  user: "user",
  project: "project",
  approved: "project",
  config: "project",
  "command line": "cli"
}

/**
 * The layers a session's policy is made of, lowest first (files not read
 * yet: `loaded` is false).
 *
 * @since 0.1.0
 * @category constructors
 */
export const layers = (
  policy: RuntimeConfig["policy"],
  options: Options
): Effect.Effect<ReadonlyArray<PolicyLayer>, never, Path> =>
  Effect.gen(function* () {
    const path = yield* Path
    const env = options.env ?? {}
    const nonEmpty = (s: string | undefined) => (s === undefined || s === "" ? undefined : s)
    const home = nonEmpty(options.home) ?? nonEmpty(env.HOME)
    const expand = (file: string) =>
      home !== undefined && (file === "~" || file.startsWith("~/"))
        ? path.join(home, file.slice(1))
        : path.resolve(options.cwd, file)
    const out: Array<PolicyLayer> = []
    const add = (name: PolicyLayer["name"], file: string | undefined, required: boolean) =>
      out.push({ name, file, required, loaded: false })
    if (policy.builtin) {
      add("built-in", undefined, false)
      if (options.isolated !== true) {
        for (const file of options.distribution ?? []) add("distribution", path.resolve(file), true)
      }
    }
    if (options.isolated !== true) {
      // An empty XDG_CONFIG_HOME counts as unset (XDG Base Directory specification).
      const xdg = nonEmpty(env.XDG_CONFIG_HOME) ?? (home === undefined ? undefined : path.join(home, ".config"))
      if (xdg !== undefined) add("user", path.join(xdg, "strata", "policy.toml"), false)
      if (home !== undefined) add("user", path.join(home, ".strata", "policy.toml"), false)
      add("project", path.join(options.cwd, ".strata", "policy.toml"), false)
      if (options.approved === true) add("approved", approvedFile(path, options.cwd), false)
      for (const file of policy.rules) add("config", expand(file), true)
    }
    for (const file of options.rules ?? []) add("command line", path.resolve(options.cwd, file), true)
    return out
  })

/**
 * Builds the policy: reads every layer's file (skipping optional ones that
 * do not exist), checks every rule and (unless `deferred`) its examples. Fails with the
 * `RuleFileError` naming file, line and column, or a `ParserError`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = Effect.fn("RuntimePolicy.make")(function* (policy: RuntimeConfig["policy"], options: Options) {
  const fs = yield* FileSystem.FileSystem
  const planned = yield* layers(policy, options)
  const sources: Array<ExecPolicy.RuleSource> = []
  const made: Array<PolicyLayer> = []
  for (const layer of planned) {
    if (layer.file === undefined) {
      made.push({ ...layer, loaded: true })
      continue
    }
    const file = layer.file
    const text = yield* fs.readFileString(file).pipe(
      Effect.map((t): string | undefined => t),
      Effect.catchAll((error) => {
        const notFound = error._tag === "SystemError" && error.reason === "NotFound"
        if (notFound && !layer.required) return Effect.succeed(undefined)
        return Effect.fail(
          new RuleFileError({
            reason: notFound ? "NotFound" : "Unreadable",
            file,
            detail: notFound
              ? `no such rule file (the ${layer.name} layer)`
              : `cannot read the rule file: ${error.message}`,
            cause: error
          })
        )
      })
    )
    made.push({ ...layer, loaded: text !== undefined })
    if (text !== undefined) sources.push({ file, layer: execLayer[layer.name], text })
  }
  const service: ExecPolicy.Service =
    options.deferred === true
      ? yield* ExecPolicy.makeDeferred(sources, {
          grammar: Effect.provide(ExecPolicy.loadGrammar, yield* Effect.context<FileSystem.FileSystem | Path>()),
          builtin: policy.builtin
        })
      : yield* ExecPolicy.makeFromSources(sources, {
          grammar: yield* ExecPolicy.loadGrammar,
          builtin: policy.builtin
        })
  return { policy: service, layers: made } satisfies Made
})

const approvedFile = (path: Path, cwd: string) => path.join(cwd, ".strata", "approved.toml")

/**
 * "Approve always" for a running session: allow rules for exactly the
 * simple commands of an approved command line, appended to the project's
 * `.strata/approved.toml` and in force at once (the session's policy is
 * rebuilt with them). A command the analysis forces to `ask` (protected
 * paths, substitutions, computed words) or a rule denies gets no rule.
 *
 * Rules another process adds to the file (another `strata serve`, a
 * worker of a cluster, a `strata run`) are in force here from the next
 * `check` on (see {@link layer}).
 *
 * @since 0.2.0
 * @category models
 */
export interface Approved {
  /** Adds the rules for `command`; answers them as TOML (none when nothing can be remembered). */
  readonly approveAlways: (
    command: string,
    options?: { readonly justification?: string | undefined }
  ) => Effect.Effect<ReadonlyArray<string>, RuleFileError | ParserError>
  /** The file the rules are kept in. */
  readonly file: string
  /**
   * Looks at the file now (one `stat`) and, when it changed since it was
   * last read, rebuilds the policy from the rule files: `true` when a new
   * policy is in force. A file that no longer loads keeps the policy in
   * force (see {@link Approved.reloadError}).
   */
  readonly refresh: Effect.Effect<boolean>
  /**
   * Why the file as it is now does not load (malformed, written halfway),
   * while the last policy that loaded stays in force; `undefined` once it
   * loads again. Logged as a warning once per change of the file.
   */
  readonly reloadError: RuleFileError | ParserError | undefined
}

/**
 * @since 0.2.0
 * @category tags
 */
export class ApprovedRules extends Context.Tag("@strata/core-runtime/RuntimePolicy/ApprovedRules")<
  ApprovedRules,
  Approved
>() {}

/**
 * The policy as a layer (see {@link make}), with `.strata/approved.toml`
 * and the `ApprovedRules` that add to it; deferred unless `options.deferred`
 * is `false`: the grammar loads on the first decision.
 *
 * Before each `check` (at most every `approvedPollMs`), one `stat` of
 * `.strata/approved.toml` (inode, size, mtime): when another process
 * changed it, the policy is rebuilt from every rule file before the
 * decision. When the file no longer loads, the last policy that loaded
 * stays in force (no rule of it is lost, a deny rule included) and the
 * error is reported once (`reloadError`, a warning in the log). `checkSync`
 * never looks at the file: it decides with the policy in force. The other
 * rule files are read when the session starts.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  policy: RuntimeConfig["policy"],
  options: Options
): Layer.Layer<ExecPolicy.ExecPolicy | ApprovedRules, RuleFileError | ParserError, FileSystem.FileSystem | Path> =>
  Layer.effectContext(
    Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path
      const withApproved: Options = {
        ...options,
        approved: options.approved ?? options.isolated !== true,
        deferred: options.deferred ?? true
      }
      const file = approvedFile(path, options.cwd)
      const watched = withApproved.approved === true
      // The stamp of the file as last read: inode, size and mtime; "absent" when there is none.
      const stampOf = fs.stat(file).pipe(
        Effect.map(
          (info) =>
            `${Option.getOrElse(info.ino, () => -1)}:${info.size}:${Option.match(info.mtime, {
              onNone: () => -1,
              onSome: (d) => d.getTime()
            })}`
        ),
        Effect.orElseSucceed(() => "absent")
      )
      // Taken before the file is read: a change while it is read is seen by the next check.
      let stamp = watched ? yield* stampOf : "absent"
      let current = (yield* make(policy, withApproved)).policy
      const rebuild = make(policy, withApproved).pipe(
        // A rebuilt policy is ready before it is in force: checkSync never meets a deferred policy.
        Effect.tap((made) => made.policy.ready),
        Effect.map((made) => made.policy),
        Effect.provideService(FileSystem.FileSystem, fs),
        Effect.provideService(Path, path)
      )
      const lock = yield* Effect.makeSemaphore(1)
      let reloadError: RuleFileError | ParserError | undefined
      let lastLook = Number.NEGATIVE_INFINITY
      const pollMs = Math.max(0, options.approvedPollMs ?? 0)
      const reload: Effect.Effect<boolean> = lock.withPermits(1)(
        Effect.gen(function* () {
          const seen = yield* stampOf
          if (seen === stamp) return false
          stamp = seen
          const next = yield* Effect.either(rebuild)
          if (next._tag === "Left") {
            reloadError = next.left
            yield* Effect.logWarning(
              `${file} changed and no longer loads; the policy in force stays as it was: ${next.left.message}`
            ).pipe(Effect.annotateLogs({ file, error: next.left._tag }))
            return false
          }
          reloadError = undefined
          current = next.right
          return true
        })
      )
      const look: Effect.Effect<void> = !watched
        ? Effect.void
        : Effect.gen(function* () {
            if (pollMs > 0) {
              const now = yield* Clock.currentTimeMillis
              if (now - lastLook < pollMs) return
              lastLook = now
            }
            if ((yield* stampOf) !== stamp) yield* reload
          })
      // Every check reads the policy in force now: a rule added by approveAlways, here or in
      // another process, applies to the next command.
      const service: ExecPolicy.Service = {
        check: (command, o) =>
          Effect.zipRight(
            look,
            Effect.suspend(() => current.check(command, o))
          ),
        checkSync: (command, o) => current.checkSync(command, o),
        ready: Effect.suspend(() => current.ready),
        get files() {
          return current.files
        },
        get defaultDecision() {
          return current.defaultDecision
        }
      }
      const grammar = yield* Effect.cached(
        ExecPolicy.loadGrammar.pipe(Effect.provideService(FileSystem.FileSystem, fs), Effect.provideService(Path, path))
      )
      const approved: Approved = {
        file,
        refresh: reload.pipe(Effect.withSpan("ApprovedRules.refresh")),
        get reloadError() {
          return reloadError
        },
        approveAlways: (command, o = {}) =>
          Effect.zipRight(
            look,
            lock.withPermits(1)(
              Effect.gen(function* () {
                yield* current.ready
                const argvs = Remembered.argvsToRemember(current.checkSync(command))
                if (argvs.length === 0) return []
                const rules = argvs.map((argv) => Remembered.ruleToml(argv, o.justification ?? "approved always"))
                const fail = (error: { readonly message: string }) =>
                  new RuleFileError({
                    reason: "Unreadable",
                    file,
                    detail: `cannot write the approved rules: ${error.message}`,
                    cause: error
                  })
                // Checked alone before a byte is written: a rule that does not load never reaches the file.
                yield* ExecPolicy.makeFromSources([{ file, layer: "project", text: rules.join("\n") }], {
                  grammar: yield* grammar,
                  builtin: false
                })
                const before = yield* fs.readFileString(file).pipe(Effect.orElseSucceed(() => undefined))
                yield* fs.makeDirectory(path.dirname(file), { recursive: true }).pipe(Effect.mapError(fail))
                yield* fs.writeFileString(file, `${rules.join("\n")}\n`, { flag: "a" }).pipe(Effect.mapError(fail))
                const seen = yield* stampOf
                current = yield* rebuild.pipe(
                  // The policy in force stays; so does the file as it was.
                  Effect.tapError(() =>
                    before === undefined
                      ? fs.remove(file).pipe(Effect.ignore)
                      : fs.writeFileString(file, before).pipe(Effect.ignore)
                  )
                )
                stamp = seen
                reloadError = undefined
                return rules
              })
            )
          ).pipe(Effect.withSpan("ApprovedRules.approveAlways"))
      }
      return Context.make(ExecPolicy.ExecPolicy, service).pipe(Context.add(ApprovedRules, approved))
    })
  )

/**
 * The layers as lines for a person: `built-in`, `distribution <file>`,
 * `user <file> (absent)`, ...
 *
 * @since 0.1.0
 * @category utils
 */
export const describe = (made: ReadonlyArray<PolicyLayer>): ReadonlyArray<string> =>
  made.map((l) => `${l.name}${l.file === undefined ? " (defaults)" : ` ${l.file}`}${l.loaded ? "" : " (absent)"}`)
