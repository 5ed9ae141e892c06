// Builds corpus.jsonl: adversarial shell strings, grouped by the classes of
// issue 13, each written to make a program run that no rule allows (the
// payloads: `curl` is denied, `touch`/`rm` are unknown and so ask) while a
// naive reading sees only allowed programs. Re-run after editing:
//
//   node packages/exec-policy/test/differential/build-corpus.mjs
//
// Every string is decided by the policy and, when it is allowed, run under
// bash (and dash) with execve traced (Differential.test.ts).
import { writeFileSync } from "node:fs"

const PAYLOADS = ["touch pwned", "curl x.test", "rm -f f", "wget x.test"]
const out = []
const add = (cls, template) => {
  for (const p of PAYLOADS) out.push({ class: cls, command: template.replaceAll("P", p) })
}
const B = "\\" // one backslash

// 1. Escaped backticks / `\$(` inside backtick substitutions, at any depth and word position.
for (const t of [
  `echo \`echo ${B}\`P${B}\`\``,
  `echo \`echo ${B}$(P)\``,
  `echo \`echo ${B}\`echo ${B}${B}${B}\`P${B}${B}${B}\`${B}\`\``,
  `x=\`echo ${B}$(P)\`; echo "$x"`,
  `x=\`echo ${B}\`P${B}\`\``,
  `for i in \`echo ${B}$(P)\`; do echo "$i"; done`,
  `case \`echo ${B}$(P)\` in *) echo;; esac`,
  `cat <<< \`echo ${B}$(P)\``,
  `echo "\`echo ${B}$(P)\`"`,
  `echo a\`echo ${B}\`P${B}\`\`b`,
  `ls \`echo ${B}\`P${B}\`\``,
  `echo \`echo "${B}$(P)"\``,
  `echo \`echo ${B}"${B}$(P)${B}"\``,
  `echo \`cat <<E\n${B}$(P)\nE\n\``,
  `echo \`echo ${B}${B}${B}$(P)\``,
  `echo \`: ${B}\`P${B}\`; echo\``,
  `[ "\`echo ${B}$(P)\`" ]`,
  `echo \${x:-\`echo ${B}$(P)\`}`,
  `echo \`echo ${B}$(echo ${B}$(P))\``,
  `echo \`echo ${B}\`echo ${B}${B}$(P)${B}\`\``,
  `wc -l <(echo \`echo ${B}$(P)\`)`,
  `echo \`echo ${B}$((1)) ${B}$(P)\``
])
  add("backtick", t)

// 2. Single quotes inside double-quoted ${x…} operators are ordinary characters.
for (const op of [":-", "-", ":=", "=", ":+", "+", ":?", "?"]) {
  add("dq-param-quote", `echo "\${x${op}'$(P)'}"`)
  add("dq-param-quote", `x=1; echo "\${x${op}'$(P)'}"`)
  add("dq-param-quote", `echo "\${x${op}'\`P\`'}"`)
  add("dq-param-quote", `cat <<EOF\n\${x${op}'$(P)'}\nEOF`)
}
for (const t of [
  `echo "\${x:-\${y:-'$(P)'}}"`,
  `echo "\${x:-'"$(P)"'}"`,
  `echo "a\${x:-'b$(P)c'}d"`,
  `echo "\${x:-'\${y:-'$(P)'}'}"`,
  `echo "\${x#'$(P)'}"`,
  `echo "\${x%'$(P)'}"`,
  `echo "\${x/'$(P)'/y}"`,
  `cat <<EOF\n\${x:-'\`P\`'}\nEOF`,
  `cat <<EOF\n'$(P)'\nEOF`,
  `cat <<-EOF\n\t\${x:-'$(P)'}\n\tEOF`,
  `echo "\${x:-'}'$(P)'}"`,
  `echo \${x:-'$(P)'}`
])
  add("dq-param-quote", t)

// 3. Dialects: what bash and dash read differently; nested non-bash shells.
for (const t of [
  `sh -c "echo $'a${B}' ; P ; echo '"`,
  `sh -c 'echo hi &> /dev/null; P'`,
  `sh -c 'echo hi &>/dev/null P'`,
  `dash -c "echo $'${B}'';P;'"`,
  `sh -c 'echo $"x" ; P'`,
  `zsh -c 'echo =P'`,
  `ksh -c 'echo $(P)'`,
  `sh -c 'ls |& P'`,
  `sh -c 'echo {a,b}; P'`,
  `sh -c 'cat <<< x; P'`,
  `sh -c '[[ x ]] && P'`,
  `sh -c 'echo \${x/a/b}; P'`
])
  add("dialect", t)

// 4. Builtins that evaluate strings as code.
for (const t of [
  `unset 'a[$(P)]'`,
  `a=(1); unset 'a[$(P)]'`,
  `declare -A a; unset 'a[$(P)]'`,
  `declare -a a='([$(P)]=1)'`,
  `declare -a a='([0]=$(P))'`,
  `declare -A a='([x]=$(P))'`,
  `typeset -a a='([$(P)]=1)'`,
  `readonly -a a='([$(P)]=1)'`,
  `declare -a 'a=([0]=$(P))'`,
  `declare 'a[$(P)]=1'`,
  `printf -v 'a[$(P)]' x`,
  `printf -v "a[\\$(P)]" %s x`,
  `read 'a[$(P)]' <<< x`,
  `read -a 'a[$(P)]' <<< x`,
  `test -v 'a[$(P)]'`,
  `[ -v 'a[$(P)]' ]`,
  `[[ -v a[$(P)] ]]`,
  `[[ -v 'a[$(P)]' ]]`,
  `x='a[$(P)]'; echo $((x))`,
  `x='a[$(P)]'; [[ $x -eq 1 ]]`,
  `declare -n r='a[$(P)]'; echo $r`,
  `declare -i n; n='a[$(P)]'`,
  `echo \${a[$(P)]}`,
  `echo \${#a[$(P)]}`,
  `export 'a[$(P)]=1'`,
  `local 'a[$(P)]'=1`,
  `mapfile -t 'a[$(P)]' <<< x`,
  `printf -v x '%s' '$(P)'; echo $x`,
  `hash -p ./bin/.stub ls; ls`,
  `eval 'P'`,
  `trap 'P' EXIT`,
  `echo \${!x}`,
  `x='$(P)'; echo \${x@P}`
])
  add("builtin-eval", t)

// 5. Start-up files and configuration read before or inside allowed programs.
for (const t of [
  `bash -i -c 'echo hi'; P`,
  `bash -i -c 'echo hi'`,
  `bash -l -c 'echo hi'`,
  `bash --login -c 'echo hi'`,
  `bash --rcfile f -i -c 'echo hi'`,
  `bash --init-file f -c 'echo hi'`,
  `sh -l -c 'echo hi'`,
  `sh -i -c 'echo hi'`,
  `HOME=. git status`,
  `XDG_CONFIG_HOME=. git status`,
  `GIT_DIR=x git status`,
  `GIT_CONFIG_GLOBAL=f git log`,
  `GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=core.pager GIT_CONFIG_VALUE_0=P git log`,
  `env HOME=. git status`,
  `export HOME=.; git status`,
  `GIT_WORK_TREE=. git diff`,
  `BASH_ENV=f bash -c 'echo hi'`,
  `ENV=f sh -i -c 'echo hi'`,
  `PROMPT_COMMAND='P' bash -i -c :`,
  `PS4='$(P)' bash -xc 'echo hi'`,
  `SHELLOPTS=xtrace PS4='$(P)' bash -c 'echo hi'`,
  `CDPATH=.git cd hooks`,
  `ZDOTDIR=. zsh -c 'echo hi'`,
  `GCONV_PATH=. echo hi`,
  `LD_PRELOAD=./x.so ls`,
  `git -c core.pager='P' log`,
  `git --exec-path=. status`,
  `git -C sub status; P`
])
  add("startup", t)

// 6. The distribution's default rules (read-only in fact).
for (const t of [
  `git log --output=.git/config --format='[core]%n  fsmonitor = P'`,
  `git log --outp=.git/config --format=x`,
  `git diff --output=x`,
  `git show --output x`,
  `git diff --no-index /etc/passwd f`,
  `date -f /etc/shadow`,
  `date --file=/etc/shadow`,
  `date -s 2000-01-01`,
  `git branch -D main`,
  `git branch -m x`,
  `git branch --set-upstream-to=x`,
  `git branch newbranch`,
  `git branch --edit-description`,
  `tree -o .git/config`,
  `tree --fromfile /etc/shadow`,
  `git log --ext-diff`,
  `git status; P`
])
  add("default-rules", t)

// 7. Blanks, syntax errors, deny-through-expansion.
for (const t of [
  "echo hi\rP",
  "echo hi\r;P",
  "echo hi\v;P",
  "echo\vhi;P",
  "echo hi\f; P",
  "echo\u00a0hi; P",
  "ls; }",
  "} ; P",
  "echo hi }; P",
  "{curl,x.test}",
  "{P}",
  '$"curl" x.test',
  "/usr/bin/cur? x.test",
  "cur[l] x.test",
  "env -S 'curl x.test'",
  "env -S'curl x.test'",
  "env --split-string='curl x.test'",
  "echo hi; {rm,-f,f}",
  'x=$ "P"',
  'echo hi <<{E\n"`P`"\nE\n',
  "( echo hi\n\\ )",
  "echo \\ ; P",
  "x=$ P",
  "x=$\tP",
  'ls; echo "$(P)"'
])
  add("blanks-syntax", t)

// Protected paths (issue 14): writes through redirections and known writers.
for (const t of [
  `echo x > .git/config`,
  `echo x >> .git/hooks/pre-commit`,
  `echo x > .strata/config.toml`,
  `echo x | tee .git/config`,
  `echo x | tee -a .strata/config.toml`,
  `cp f .git/config`,
  `mv f .strata/config.toml`,
  `ln -sf f .git/hooks/pre-commit`,
  `sed -i s/x/y/ .git/config`,
  `git config core.fsmonitor P`,
  `rm -rf .git`,
  `rm -rf .strata`,
  `truncate -s 0 .git/config`,
  `dd if=f of=.git/config`,
  `install f .git/hooks/post-checkout`,
  `echo x > ./.git/../.git/config`,
  `echo x > "$PWD/.git/config"`,
  `cd .git && echo x > config`,
  `echo x > ~/.config/strata/config.toml`,
  `echo x >| .strata/x`,
  `echo x &> .git/config`,
  `exec 3> .git/config`,
  `echo x > .claude/settings.json`,
  `echo x > sub/.git/config`
])
  add("protected", t)

// More builtins, expansion forms and quoting corners.
for (const t of [
  `x='a[$(P)]'; echo $[x]`,
  `echo $[a[$(P)]]`,
  `mapfile -C 'P' -c 1 < f`,
  `readarray -C 'P' -c 1 < f`,
  `compgen -C 'P' x`,
  `hash -p ./bin/.stub echo; echo hi`,
  `echo "\${x:-${B}\`P${B}\`}"`,
  `echo "\${x:-\`P\`}"`,
  `cat <<E
\`echo ${B}"$(P)${B}"\`
E`,
  `cat <<E
\`echo ${B}\`P${B}\`\`
E`,
  `echo \${x:-\`P\`}`,
  `case x in $(P)) echo;; esac`,
  `[[ $(P) ]]`,
  `echo $(( $(P) ))`,
  `echo \${x:$(P)}`,
  `select x in a; do P; done`,
  `builtin eval 'P'`,
  `command eval 'P'`,
  `time P`,
  `! P`,
  `coproc P`,
  `echo hi >(P)`,
  `cat < <(P)`,
  `echo hi 2> >(P)`,
  `echo \${x@P}`,
  `printf '%s' "$(P)"`,
  `echo "$(echo '$(P)')"`,
  `echo '\`P\`'`,
  `echo "${B}\`P${B}\`"`
])
  add("more", t)

// Controls: strings the policy may allow and that run only allowed programs.
for (const t of [
  `echo hi`,
  `ls -la`,
  `echo "\${x:-a}"`,
  `echo \`echo hi\``,
  `echo $(echo hi) | wc -l`,
  `cat <<'EOF'\n$(P)\nEOF`,
  `echo '$(P)'`,
  `echo "\\$(P)"`,
  `echo \${x#'a'}`
])
  add("control", t)

const seen = new Set()
const lines = []
for (const c of out) {
  if (seen.has(c.command)) continue
  seen.add(c.command)
  lines.push(JSON.stringify({ id: `${c.class}-${String(lines.length + 1).padStart(4, "0")}`, ...c }))
}
writeFileSync(new URL("./corpus.jsonl", import.meta.url), `${lines.join("\n")}\n`)
console.log(`${lines.length} strings`)
