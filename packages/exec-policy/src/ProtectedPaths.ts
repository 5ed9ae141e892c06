/**
 * The runtime's protected paths: its own control files (config, rules,
 * hooks, approvals, journals, the audit log, the approval key), the VCS and agent settings
 * that run code (`.git/config`, `.git/hooks/`, `.claude/settings*.json`)
 * and whatever a config adds. A tool may change one only with a person's
 * say: the shell analysis, the file tools and the sandbox all consult the
 * same list.
 *
 * Patterns are absolute, `/`-separated paths:
 * - ending in `/`: the directory and everything below it (`/w/.strata/`);
 * - otherwise: that path exactly, where `*` in the last segment matches any
 *   characters but `/` (`/w/.claude/settings*.json`).
 *
 * Matching is lexical on a normalized absolute path (`.` and `..` folded,
 * repeated `/` collapsed); callers that can resolve symlinks pass the real
 * path too.
 *
 * @since 0.2.0
 */
import * as Common from "@strata/protocol/Common"

/**
 * @since 0.2.0
 * @category models
 */
export interface ProtectedPaths {
  readonly patterns: ReadonlyArray<string>
}

/**
 * Folds `.`, `..` and repeated separators of an absolute path; `undefined`
 * when `path` is not absolute.
 *
 * @since 0.2.0
 * @category utils
 */
export const normalize: (path: string) => string | undefined = Common.normalizeAbsolutePath

/**
 * Resolves `path` against the absolute directory `cwd` (a `~/` prefix against
 * `home` when given) and normalizes it.
 *
 * @since 0.2.0
 * @category utils
 */
export const resolve = (cwd: string, path: string, home?: string): string => {
  if (home !== undefined && (path === "~" || path.startsWith("~/")))
    return normalize(`${home}/${path.slice(1)}`) ?? home
  return (path.startsWith("/") ? normalize(path) : normalize(`${cwd}/${path}`)) ?? path
}

/**
 * The default protected paths of a workspace (and of the user's home, when
 * known).
 *
 * @since 0.2.0
 * @category constructors
 */
export const defaults = (options: {
  readonly workspace: string
  readonly home?: string | undefined
}): ProtectedPaths => {
  const w = normalize(options.workspace) ?? options.workspace
  const root = w === "/" ? "" : w
  const home = options.home === undefined ? undefined : normalize(options.home)
  return {
    patterns: [
      `${root}/.strata/`,
      `${root}/.git/config`,
      `${root}/.git/hooks/`,
      `${root}/.claude/settings*.json`,
      ...(home === undefined
        ? []
        : [
            `${home === "/" ? "" : home}/.config/strata/`,
            `${home === "/" ? "" : home}/.strata/`,
            // the key of approval digests
            `${home === "/" ? "" : home}/.local/state/strata/`
          ])
    ]
  }
}

/**
 * The list plus `extra` patterns (absolute, or relative to `workspace`).
 *
 * @since 0.2.0
 * @category combinators
 */
export const extend = (self: ProtectedPaths, workspace: string, extra: ReadonlyArray<string>): ProtectedPaths => ({
  patterns: [
    ...self.patterns,
    ...extra.map((p) => {
      const resolved = resolve(workspace, p)
      return p.endsWith("/") && !resolved.endsWith("/") ? `${resolved}/` : resolved
    })
  ]
})

const segmentMatches = (pattern: string, segment: string): boolean => {
  if (!pattern.includes("*")) return pattern === segment
  const parts = pattern.split("*")
  let at = 0
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!
    if (i === 0) {
      if (!segment.startsWith(part)) return false
      at = part.length
    } else if (i === parts.length - 1) {
      return segment.length - part.length >= at && segment.endsWith(part)
    } else {
      const found = segment.indexOf(part, at)
      if (found < 0) return false
      at = found + part.length
    }
  }
  return true
}

/**
 * The first pattern that covers the absolute `path`, or `undefined`. A path
 * that is an ancestor of a protected path is not itself protected (listing
 * the workspace is fine), but moving or deleting it is: see {@link touches}.
 *
 * @since 0.2.0
 * @category utils
 */
export const match = (self: ProtectedPaths, path: string): string | undefined => {
  const p = normalize(path)
  if (p === undefined) return undefined
  for (const pattern of self.patterns) {
    if (pattern.endsWith("/")) {
      const dir = pattern.slice(0, -1)
      if (p === dir || p.startsWith(pattern)) return pattern
      continue
    }
    const cut = pattern.lastIndexOf("/")
    const parent = pattern.slice(0, cut)
    const last = pattern.slice(cut + 1)
    const pCut = p.lastIndexOf("/")
    if (p.slice(0, pCut) === parent && segmentMatches(last, p.slice(pCut + 1))) return pattern
  }
  return undefined
}

/**
 * The first pattern that `path` covers or lies under: what a move, delete
 * or recursive write of `path` would change (deleting `/w/.git` changes
 * `/w/.git/config`).
 *
 * @since 0.2.0
 * @category utils
 */
export const touches = (self: ProtectedPaths, path: string): string | undefined => {
  const direct = match(self, path)
  if (direct !== undefined) return direct
  const p = normalize(path)
  if (p === undefined) return undefined
  const prefix = p === "/" ? "/" : `${p}/`
  return self.patterns.find((pattern) => pattern.startsWith(prefix))
}
