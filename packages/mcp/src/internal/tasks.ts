/**
 * @internal
 *
 * Lifecycle tasks: at most one lifecycle fiber (start, restart, supervise,
 * re-initialize) per server, forked into the manager's scope.
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import type { McpError } from "../McpError.js"
import type { Handle, Task } from "./connection.js"

/** Forks an effect into the manager's scope. */
export type RunFork = <A, E>(effect: Effect.Effect<A, E>) => Fiber.RuntimeFiber<A, E>

/** How `runTask` starts a task: join a running one with the same key (`share`), pass the caller's interruption on, start only while `guard` holds. */
export interface TaskOptions {
  readonly share: boolean
  readonly propagateInterrupt: boolean
  readonly guard?: () => boolean
}

/** The task operations over the manager's `runFork`. */
export const makeTasks = (runFork: RunFork) => {
  const startTaskLocked = <A, E>(h: Handle, key: string, effect: Effect.Effect<A, E>): Effect.Effect<Task> =>
    Effect.gen(function* () {
      const previous = h.task
      if (previous?.fiber !== undefined) yield* Fiber.interrupt(previous.fiber)
      const task: Task = { key, fiber: undefined }
      h.task = task
      task.fiber = runFork(
        Effect.ensuring(
          effect,
          Effect.sync(() => {
            if (h.task === task) h.task = undefined
          })
        )
      )
      return task
    })

  /**
   * Runs `effect` as the server's lifecycle task (interrupting the previous one, unless
   * `share` and a task with the same key is running: then it is joined) and awaits its exit.
   * With `propagateInterrupt`, interrupting the caller interrupts the task. A `guard` that
   * is false under the lock (the server was stopped meanwhile) starts nothing: interrupted.
   */
  const runTask = <A>(
    h: Handle,
    key: string,
    effect: Effect.Effect<A, McpError>,
    options: TaskOptions
  ): Effect.Effect<Exit.Exit<A, McpError>> =>
    Effect.gen(function* () {
      const task = yield* h.lock.withPermits(1)(
        Effect.suspend(() =>
          options.share && h.task?.key === key && h.task.fiber !== undefined
            ? Effect.succeed(h.task)
            : options.guard === undefined || options.guard()
              ? startTaskLocked(h, key, effect)
              : Effect.succeed(undefined)
        )
      )
      if (task === undefined) return Exit.interrupt(FiberId.none)
      const fiber = task.fiber as Fiber.RuntimeFiber<A, McpError>
      return yield* options.propagateInterrupt
        ? Effect.onInterrupt(Fiber.await(fiber), () => Fiber.interrupt(fiber))
        : Fiber.await(fiber)
    })

  return { startTaskLocked, runTask }
}
