// Types for harness.mjs (plain JavaScript so that bench scripts can use it).

export interface Ack {
  readonly seq: number
  readonly marker: string
}

export interface ChildRun {
  readonly acks: Array<Ack>
  readonly saved: Array<number>
  readonly killed: boolean
  readonly code: number | null
  readonly stderr: string
}

export declare const childScript: string

export declare const runChild: (options: {
  readonly kind: "fs" | "unstorage-fs" | "unstorage-redis" | "plain-fs" | "plain-redis"
  readonly dir: string
  readonly threadId: string
  readonly round: number
  readonly count: number
  readonly mode: "seq" | "concurrent"
  readonly killAfterLines?: number
  readonly killDelayMs?: number
}) => Promise<ChildRun>

export interface CrashTotals {
  readonly kind: string
  readonly rounds: number
  readonly killedMidRun: number
  readonly acked: number
  readonly lost: number
  readonly duplicated: number
  readonly misplaced: number
  readonly gaps: number
  readonly outOfOrder: number
  readonly tornTailsRepaired: number
  readonly tornRecords: number
  readonly tornCheckpoints: number
  readonly unreadable: number
  readonly staleCheckpoints: number
  readonly childErrors: number
}

export declare const crashRounds: (options: {
  readonly kind: "fs" | "unstorage-fs" | "unstorage-redis" | "plain-fs" | "plain-redis"
  readonly dir: string
  readonly rounds: number
  readonly count?: number
  readonly modes?: (round: number) => "seq" | "concurrent"
  readonly log?: (round: Record<string, unknown>) => void
}) => Promise<{ readonly totals: CrashTotals; readonly details: Array<Record<string, unknown>> }>

export declare const readBack: (
  kind: "fs" | "unstorage-fs" | "unstorage-redis" | "plain-fs" | "plain-redis",
  dir: string,
  threadId: string
) => Promise<{
  readonly frames: Array<{ readonly seq: number; readonly delta: string }> | undefined
  readonly error: string | undefined
  readonly checkpoint: { readonly ok: boolean; readonly upTo?: number; readonly error?: string }
}>

export declare const verify: (
  acks: ReadonlyArray<Ack>,
  frames: ReadonlyArray<{ readonly seq: number; readonly delta: string }>
) => { readonly lost: number; readonly duplicated: number; readonly misplaced: number; readonly gaps: number }
