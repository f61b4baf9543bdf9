import { EXPERTISES, PRIORITY_FLAGS, type Expertise, type PriorityFlag } from '../../config/region/region-config.ts';
import type { CompletionFlags } from './worklist-types.ts';

/** The flags stored with a completion (study_activity.sender_flags), keeping only values the region model knows. */
export function senderFlags(value: unknown): CompletionFlags {
  if (typeof value !== 'object' || value === null) return {};
  const record = value as Record<string, unknown>;
  const flags: CompletionFlags = {};
  if (typeof record.priority === 'string' && (PRIORITY_FLAGS as readonly string[]).includes(record.priority)) {
    flags.priority = record.priority as PriorityFlag;
  }
  if (typeof record.expertise === 'string' && (EXPERTISES as readonly string[]).includes(record.expertise)) {
    flags.expertise = record.expertise as Expertise;
  }
  return flags;
}
