/**
 * Approvals remembered in chat ("always"), as exec-policy rules of the same
 * kind as the TOML ones: each simple command of the approved command line
 * becomes an `allow` rule whose prefix is its exact argv. A later command is
 * approved without asking only when the policy, with these rules alone,
 * allows every simple command of it (so approving `touch a.txt` never
 * covers `touch b.txt && curl …`, and nothing the analysis forces to `ask`
 * — protected paths, substitutions, start-up files — is ever covered).
 *
 * The chat keeps them for its session (`make`); `strata serve` keeps them
 * in the project (`argvsToRemember` and `ruleToml`, through
 * `RuntimePolicy.ApprovedRules`), so both remember the same commands.
 *
 * @since 0.2.0
 */
import * as Effect from "effect/Effect"
import type * as Decision from "./Decision.js"
import * as ExecPolicy from "./ExecPolicy.js"

/**
 * @since 0.2.0
 * @category models
 */
export interface Remembered {
  /** Remembers `command`; returns the rules it added, as TOML. */
  readonly add: (command: string) => Effect.Effect<ReadonlyArray<string>>
  /** The remembered rules that cover every simple command of `command`, or `undefined` when not all are covered. */
  readonly covers: (command: string) => ReadonlyArray<string> | undefined
  /** Every remembered rule, as TOML. */
  readonly rules: () => ReadonlyArray<string>
}

/**
 * A TOML basic string: JSON's escapes, plus DEL (which TOML, unlike JSON,
 * does not allow raw). A lone surrogate has no TOML form: see
 * {@link argvsToRemember}, which never remembers one.
 */
const tomlString = (text: string): string =>
  JSON.stringify(text.replace(/[\uD800-\uDFFF]/gu, "\uFFFD")).replace(/\u007f/g, "\\u007F")

/**
 * A rule as TOML (JSON strings are TOML basic strings). `exact`: the argv
 * and nothing more (approving `rm a.txt` never covers `rm a.txt -rf /`).
 *
 * @since 0.2.0
 * @category utils
 */
export const ruleToml = (argv: ReadonlyArray<string>, justification = "approved always in chat"): string =>
  `[[rule]]\nprefix = [${argv.map(tomlString).join(",")}]\nexact = true\ndecision = "allow"\njustification = ${tomlString(justification)}\n`

/**
 * The argvs of a decided command line that "approve always" turns into
 * allow rules: each simple command the analysis read as plain words (no
 * forced `ask`, no word computed at run time), not already allowed or
 * denied by a rule of the decision's policy, not in `known`.
 *
 * @since 0.2.0
 * @category utils
 */
export const argvsToRemember = (
  decision: Decision.Decision,
  known: ReadonlyArray<ReadonlyArray<string>> = []
): ReadonlyArray<ReadonlyArray<string>> => {
  const out: Array<ReadonlyArray<string>> = []
  const same = (a: ReadonlyArray<string>, b: ReadonlyArray<string>) =>
    a.length === b.length && a.every((w, i) => w === b[i])
  for (const c of decision.commands) {
    // Only what the analysis read as plain words becomes a rule.
    if (c.reasons.length > 0 || c.argv.length === 0) continue
    // A rule already decides it: an allow needs nothing, a deny is never loosened.
    if (c.source === "rule" && c.decision !== "ask") continue
    // A word computed at run time (shown as written) never matches an allow rule: not a rule word.
    if (c.argv.some((w) => /[$`*?[{~]/.test(w))) continue
    // A lone surrogate cannot be written in TOML: such a word is never a rule word.
    if (c.argv.some((w) => /[\uD800-\uDFFF]/u.test(w))) continue
    if ([...known, ...out].some((a) => same(a, c.argv))) continue
    out.push([...c.argv])
  }
  return out
}

/**
 * A fresh, empty set of remembered rules, decided with the bash grammar.
 *
 * @since 0.2.0
 * @category constructors
 */
export const make = (grammar: Uint8Array): Effect.Effect<Remembered, never> =>
  Effect.gen(function* () {
    const argvs: Array<ReadonlyArray<string>> = []
    const build = (): Effect.Effect<ExecPolicy.Service> =>
      ExecPolicy.makeFromSources(
        [
          {
            file: "<remembered approvals>",
            layer: "cli",
            text: ['default = "ask"', ...argvs.map((a) => ruleToml(a))].join("\n")
          }
        ],
        { grammar }
      ).pipe(Effect.orDie)
    let policy = yield* build()
    const decide = (command: string): Decision.Decision => policy.checkSync(command)
    return {
      add: (command) =>
        Effect.gen(function* () {
          const added = argvsToRemember(decide(command), argvs)
          argvs.push(...added)
          policy = yield* build()
          return added.map((argv) => ruleToml(argv))
        }),
      covers: (command) => {
        const d = decide(command)
        if (d.decision !== "allow" || d.commands.length === 0) return undefined
        return d.commands.map((c) => (c.rule === null ? "" : `prefix = ${c.rule.prefix}`))
      },
      rules: () => argvs.map((a) => ruleToml(a))
    }
  })
