/**
 * Approvals remembered in chat ("always"), as exec-policy rules of the same
 * kind as the TOML ones: each simple command of the approved command line
 * becomes an `allow` rule whose prefix is its exact argv. A later command is
 * approved without asking only when the policy, with these rules alone,
 * allows every simple command of it (so approving `touch a.txt` never
 * covers `touch b.txt && curl …`, and nothing the analysis forces to `ask`
 * — protected paths, substitutions, start-up files — is ever covered).
 *
 * @since 0.2.0
 */
import { type Decision, ExecPolicy } from "@strata/exec-policy"
import * as Effect from "effect/Effect"

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
 * A rule as TOML (JSON strings are TOML basic strings).
 *
 * @since 0.2.0
 * @category utils
 */
export const ruleToml = (argv: ReadonlyArray<string>): string =>
  `[[rule]]\nprefix = ${JSON.stringify(argv)}\ndecision = "allow"\njustification = "approved always in chat"\n`

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
          { file: "<remembered approvals>", layer: "cli", text: ['default = "ask"', ...argvs.map(ruleToml)].join("\n") }
        ],
        { grammar }
      ).pipe(Effect.orDie)
    let policy = yield* build()
    const decide = (command: string): Decision.Decision => policy.checkSync(command)
    return {
      add: (command) =>
        Effect.gen(function* () {
          const d = decide(command)
          const added: Array<string> = []
          for (const c of d.commands) {
            // Only what the analysis read as plain words becomes a rule.
            if (c.reasons.length > 0 || c.argv.length === 0) continue
            // A word computed at run time (shown as written) never matches an allow rule: not a rule word.
            if (c.argv.some((w) => /[$`*?[{~]/.test(w))) continue
            if (argvs.some((a) => a.length === c.argv.length && a.every((w, i) => w === c.argv[i]))) continue
            argvs.push([...c.argv])
            added.push(ruleToml(c.argv))
          }
          policy = yield* build()
          return added
        }),
      covers: (command) => {
        const d = decide(command)
        if (d.decision !== "allow" || d.commands.length === 0) return undefined
        return d.commands.map((c) => (c.rule === null ? "" : `prefix = ${c.rule.prefix}`))
      },
      rules: () => argvs.map(ruleToml)
    }
  })
