/**
 * What command and variable names mean to the analysis: shells whose `-c`
 * script is walked, reserved words, builtins that evaluate code or assign
 * variables, and the variables whose assignment changes what an allowed
 * command runs.
 *
 * @internal
 */

/** Shells whose `-c` script is parsed and analysed too. */
export const SHELLS: ReadonlySet<string> = new Set(["bash", "sh", "zsh", "dash", "ksh", "mksh", "ash", "rbash"])

/** Reserved words: as a command name they mean the grammar misread the structure. */
export const RESERVED: ReadonlySet<string> = new Set([
  "{",
  "}",
  "!",
  "[[",
  "]]",
  "if",
  "then",
  "elif",
  "else",
  "fi",
  "case",
  "esac",
  "for",
  "select",
  "while",
  "until",
  "do",
  "done",
  "in",
  "function"
])

/** Builtins that run a string or a file as shell code. */
export const EVAL_LIKE: ReadonlySet<string> = new Set(["eval", "source", ".", "trap"])

/**
 * Builtins whose options make them run code: `mapfile -C CALLBACK`,
 * `compgen -C CMD`/`-F FUNC`, `complete -C`, `hash -p PATH NAME` (NAME then
 * runs PATH), `bind -x`, `enable -f` (loads a shared object).
 */
export const BUILTIN_EVAL_FLAGS: ReadonlyMap<string, string> = new Map([
  ["mapfile", "C"],
  ["readarray", "C"],
  ["compgen", "CF"],
  ["complete", "CF"],
  ["hash", "p"],
  ["bind", "x"],
  ["enable", "f"]
])

/** Builtins that only set variables or their attributes. */
export const DECLARATIONS: ReadonlySet<string> = new Set(["export", "declare", "typeset", "local", "readonly"])

const DANGEROUS_EXACT: ReadonlySet<string> = new Set([
  // The contract's list.
  "PATH",
  "LD_PRELOAD",
  "LD_LIBRARY_PATH",
  "BASH_ENV",
  "ENV",
  "IFS",
  "PROMPT_COMMAND",
  "SHELLOPTS",
  "PS4",
  // Same effect through other names (bash manual, "Shell Variables").
  "BASHOPTS",
  "POSIXLY_CORRECT",
  "CDPATH",
  "GLOBIGNORE",
  "EXECIGNORE",
  "INPUTRC",
  "HISTFILE",
  "FUNCNEST",
  "TEXTDOMAIN",
  "TEXTDOMAINDIR",
  "SHELL",
  "ZDOTDIR",
  "OLDPWD",
  "PWD",
  // Where programs read their configuration: HOME (git's ~/.gitconfig, ~/.profile, ...), XDG dirs.
  "HOME",
  "LOCPATH",
  // Variables that make an allowed program run another program or load code.
  "PAGER",
  "MANPAGER",
  "MANOPT",
  "BROWSER",
  "EDITOR",
  "VISUAL",
  "LESS",
  "LESSOPEN",
  "LESSCLOSE",
  "LESSKEY",
  "MORE",
  "NODE_OPTIONS",
  "NODE_PATH",
  "PYTHONPATH",
  "PYTHONSTARTUP",
  "PYTHONHOME",
  "PYTHONBREAKPOINT",
  "PYTHONINSPECT",
  "PERL5OPT",
  "PERL5LIB",
  "PERL5DB",
  "PERLLIB",
  "RUBYOPT",
  "RUBYLIB",
  "CLASSPATH",
  "JAVA_TOOL_OPTIONS",
  "_JAVA_OPTIONS",
  "GCONV_PATH",
  "OPENSSL_CONF",
  "OPENSSL_ENGINES",
  "TAR_OPTIONS",
  "RSYNC_RSH",
  "RSYNC_CONNECT_PROG",
  "CVS_RSH",
  "AWKPATH",
  "SUDO_ASKPASS",
  "SSH_ASKPASS",
  "KUBECONFIG",
  "DOCKER_CONFIG",
  "CARGO_HOME",
  "RUSTC_WRAPPER",
  "MAKEFLAGS",
  "MFLAGS",
  "CC",
  "CXX"
])
const DANGEROUS_PREFIXES: ReadonlyArray<string> = [
  "LD_",
  "DYLD_",
  "BASH_",
  "PS",
  "GIT_",
  "XDG_",
  "npm_config_",
  "NPM_CONFIG_",
  "PYTHON",
  "PERL",
  "RUBY",
  "LUA_",
  "JAVA_",
  "SSH_",
  "GCONV_",
  "LESS",
  "HIST",
  "COMP_",
  "NLSPATH"
]

/**
 * Variables whose assignment changes what an allowed command runs (program
 * lookup, preloaded libraries, shell start-up files, word splitting, pagers).
 */
export const isDangerousVariable = (name: string): boolean => {
  if (DANGEROUS_EXACT.has(name)) return true
  for (const p of DANGEROUS_PREFIXES) if (name.startsWith(p)) return true
  return false
}

/** Syntax node types of a redirection. */
export const REDIRECTS: ReadonlySet<string> = new Set(["file_redirect", "heredoc_redirect", "herestring_redirect"])
