/**
 * Approvals remembered in chat: see `@strata/exec-policy/Remembered` (the
 * server's "approve always" uses the same rules).
 *
 * @since 0.2.0
 */
export * from "@strata/exec-policy/Remembered"
