import { randomUUID } from 'node:crypto';

/**
 * A new UPS transaction UID (PS3.4 CC.1.1): a UUID-derived UID under the 2.25 root (PS3.5 B.2), e.g.
 * 2.25.329800735698586629295641978511506172918 (at most 44 characters).
 */
export function newTransactionUID(): string {
  return `2.25.${BigInt(`0x${randomUUID().replace(/-/g, '')}`).toString()}`;
}
