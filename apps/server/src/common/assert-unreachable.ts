/**
 * Marks the end of an exhaustive switch over a union: the call compiles only
 * when every member was handled, so a new member is a compile error. Throws
 * if a value outside the union arrives at run time anyway.
 */
export function assertUnreachable(value: never): never {
  throw new Error(`unexpected value: ${JSON.stringify(value)}`);
}
