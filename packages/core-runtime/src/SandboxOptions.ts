/**
 * What the `Sandbox` needs from the config, in a module of its own so that
 * `strata status` (which probes the sandbox) does not load the runtime.
 *
 * @since 0.2.0
 */
import * as ProtectedPaths from "@strata/exec-policy/ProtectedPaths"
import { defaultApiKeyEnv } from "@strata/providers/ModelConfig"
import * as Sandbox from "@strata/sandbox/Sandbox"
import * as ApprovalKey from "./ApprovalKey.js"
import type { RuntimeConfig } from "./RuntimeConfig.js"

/**
 * What the `Sandbox` needs from the config: the `[sandbox]` and
 * `[shell_environment_policy]` sections, the parent environment, the
 * providers' key variables (never passed to a tool process) and the
 * workspace's protected paths (read-only inside the sandbox). Apps hand it
 * to their platform's sandbox layer (`@strata/sandbox/node`).
 *
 * @since 0.2.0
 * @category constructors
 */
export const make = (
  config: Pick<RuntimeConfig, "sandbox" | "shell_environment_policy" | "providers">,
  options: {
    readonly cwd: string
    readonly env?: Readonly<Record<string, string | undefined>> | undefined
    readonly home?: string | undefined
  }
): Sandbox.Options & { readonly home?: string | undefined } => {
  const home = options.home ?? options.env?.HOME
  const secretNames = [
    ...new Set([
      ...Object.values(config.providers).flatMap((p) => {
        const name = p.api_key_env ?? defaultApiKeyEnv[p.kind]
        return name === undefined ? [] : [name]
      }),
      ...Object.values(defaultApiKeyEnv).filter((n): n is string => n !== undefined),
      // a shared approval key: never in a tool's environment, redacted from its output
      ApprovalKey.ENV
    ])
  ]
  // the approval key's directory: hidden from commands and protected, whatever `hide` says
  const env =
    options.env ?? (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env ?? {}
  const keyDir = ApprovalKey.directory({ env, home })
  const hide = config.sandbox.hide ?? Sandbox.defaultHide
  return {
    workspace: options.cwd,
    config:
      keyDir === undefined || hide.includes(keyDir) ? config.sandbox : { ...config.sandbox, hide: [...hide, keyDir] },
    envPolicy: config.shell_environment_policy,
    // without one from the app: this process's own (Node, Bun and Deno all expose it)
    env,
    secretNames,
    protectedPaths: [
      ...ProtectedPaths.defaults({ workspace: options.cwd, home }).patterns,
      ...(keyDir === undefined ? [] : [`${keyDir}/`])
    ],
    ...(home === undefined ? {} : { home })
  }
}
