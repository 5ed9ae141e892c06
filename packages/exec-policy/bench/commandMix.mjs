// The benchmarks' command mix: `n` shell commands (40% simple, 35% compound,
// 25% nested) from a fixed seed, so every benchmark and every run measures
// the same inputs. Shared by policy.bench.mjs and cost.bench.mjs.

/** `n` commands; the same `n` gives the same commands on every call. */
export const commandMix = (n) => {
  let seed = 0x5eed
  const rand = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff
    return seed / 0x7fffffff
  }
  const pick = (xs) => xs[Math.floor(rand() * xs.length)]
  const file = () =>
    pick(["src/index.ts", "README.md", "package.json", "notes.txt", "build", "dist/out.js"]) +
    (rand() < 0.5 ? "" : `.${Math.floor(rand() * 1000)}`)
  const simple = () =>
    pick([
      () => `ls -la ${file()}`,
      () => "git status",
      () => `git diff ${file()}`,
      () => `git log --oneline -n ${1 + Math.floor(rand() * 50)}`,
      () => `cat ${file()}`,
      () => `wc -l ${file()}`,
      () => "npm test",
      () => `echo hello ${Math.floor(rand() * 1e6)}`,
      () => `touch ${file()}`,
      () => `rm -rf ${file()}`,
      () => "curl https://example.test/x",
      () => `sort -u ${file()}`,
      () => `grep -n TODO ${file()}`,
      () => `python3 scripts/gen.py --out ${file()}`
    ])()
  const compound = () => {
    const n = 2 + Math.floor(rand() * 3)
    let s = simple()
    for (let i = 1; i < n; i++) s += pick([" && ", " | ", "; ", " || "]) + simple()
    return s
  }
  const nested = () =>
    pick([
      () => `echo $(${simple()})`,
      () => `bash -c '${compound()}'`,
      () => `(${simple()}; ${simple()}) | ${simple()}`,
      () => `for f in *.ts; do ${simple()}; done`,
      () => `timeout 5 ${simple()}`,
      () => `x=$(${simple()}) && ${simple()}`,
      () => `cat <(${simple()}) | wc -l`,
      () => `${simple()} 2>&1 | tee ${file()}`,
      () => `if ${simple()}; then ${compound()}; fi`
    ])()
  return Array.from({ length: n }, () => {
    const r = rand()
    return r < 0.4 ? simple() : r < 0.75 ? compound() : nested()
  })
}
