/**
 * The environment of tool processes (shell commands, stdio MCP servers), as
 * codex's `shell_environment_policy`:
 *
 * ```toml
 * [shell_environment_policy]
 * inherit = "core"                 # none | core (default) | all
 * include = ["NODE_*", "GITHUB_TOKEN"]  # passed through from the parent, even secret-looking names
 * exclude = ["AWS_*"]              # never passed (wins over include)
 * set = { CI = "1" }               # set as given (wins over everything)
 * ```
 *
 * - `core`: `PATH`, `HOME`, `USER`, `LOGNAME`, `SHELL`, `LANG`, `LC_*`,
 *   `TERM`, `TMPDIR`, `TZ`; `none`: nothing but `include` and `set`; `all`:
 *   every variable.
 * - Whatever `inherit` says, a variable named by a provider's `api_key_env`,
 *   or whose name contains `KEY`, `SECRET`, `TOKEN`, `PASSWORD`, `PASSWD`,
 *   `CREDENTIAL` or `COOKIE` (any case), is dropped unless a pattern
 *   of `include` names it; `exclude` drops a variable even then.
 * - Patterns are names where `*` matches any characters, compared without
 *   regard to case.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * @since 0.1.0
 * @category schemas
 */
export const EnvPolicyConfig = Schema.Struct({
  inherit: Schema.optionalWith(Schema.Literal("none", "core", "all"), { default: () => "core" as const }),
  include: Schema.optionalWith(Schema.Array(Schema.String), { default: () => [] }),
  exclude: Schema.optionalWith(Schema.Array(Schema.String), { default: () => [] }),
  set: Schema.optionalWith(Schema.Record({ key: Schema.String, value: Schema.String }), { default: () => ({}) })
}).annotations({ identifier: "EnvPolicyConfig" })
/** @since 0.1.0 @category models */
export type EnvPolicyConfig = typeof EnvPolicyConfig.Type

/**
 * The policy with every default: inherit the core variables only.
 *
 * @since 0.1.0
 * @category constructors
 */
export const defaults: EnvPolicyConfig = { inherit: "core", include: [], exclude: [], set: {} }

/**
 * The variables `inherit = "core"` keeps (patterns).
 *
 * @since 0.1.0
 * @category constants
 */
export const corePatterns: ReadonlyArray<string> = [
  "PATH",
  "HOME",
  "USER",
  "LOGNAME",
  "SHELL",
  "LANG",
  "LANGUAGE",
  "LC_*",
  "TERM",
  "TMPDIR",
  "TZ"
]

/**
 * Name fragments that make a variable a secret (compared upper-case).
 *
 * @since 0.1.0
 * @category constants
 */
export const secretFragments: ReadonlyArray<string> = [
  "KEY",
  "SECRET",
  "TOKEN",
  "PASSWORD",
  "PASSWD",
  "CREDENTIAL",
  "COOKIE"
]

const compile = (pattern: string): RegExp =>
  new RegExp(
    `^${pattern
      .split("*")
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
      .join(".*")}$`,
    "i"
  )

/**
 * Whether `name` matches one of `patterns` (`*` wildcards, any case).
 *
 * @since 0.1.0
 * @category utils
 */
export const matches = (patterns: ReadonlyArray<string>, name: string): boolean =>
  patterns.some((pattern) => compile(pattern).test(name))

/**
 * Whether a variable's name marks it as a secret: one of `secretNames` (the
 * providers' `api_key_env`), or a name containing a {@link secretFragments}
 * fragment.
 *
 * @since 0.1.0
 * @category utils
 */
export const isSecretName = (name: string, secretNames: ReadonlyArray<string> = []): boolean => {
  const upper = name.toUpperCase()
  return secretNames.some((s) => s.toUpperCase() === upper) || secretFragments.some((f) => upper.includes(f))
}

/**
 * The environment a tool process gets from `parent` under `policy`.
 * `secretNames` are the providers' key variables, never passed unless
 * `include` names them.
 *
 * @since 0.1.0
 * @category constructors
 */
export const apply = (
  parent: Readonly<Record<string, string | undefined>>,
  policy: EnvPolicyConfig,
  secretNames: ReadonlyArray<string> = []
): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(parent)) {
    if (value === undefined) continue
    const included = matches(policy.include, name)
    const inherited = policy.inherit === "all" || (policy.inherit === "core" && matches(corePatterns, name)) || included
    if (!inherited) continue
    if (!included && isSecretName(name, secretNames)) continue
    if (matches(policy.exclude, name)) continue
    out[name] = value
  }
  for (const [name, value] of Object.entries(policy.set)) out[name] = value
  return out
}

/**
 * The secret values of `parent` (the values of the variables
 * {@link isSecretName} marks, at least 6 characters long): what tool output
 * and error text are redacted of.
 *
 * @since 0.1.0
 * @category utils
 */
export const secretValues = (
  parent: Readonly<Record<string, string | undefined>>,
  secretNames: ReadonlyArray<string> = []
): ReadonlyArray<string> => {
  const out = new Set<string>()
  for (const [name, value] of Object.entries(parent)) {
    if (value !== undefined && value.length >= 6 && isSecretName(name, secretNames)) out.add(value)
  }
  return [...out]
}
