/**
 * Person Name (PN) forms stored next to the received value so that matching is plain SQL:
 * - upper: case-insensitive exact and wildcard matching (PS3.4 C.2.2.2.1 allows case-insensitive PN matching);
 * - tokens / words: fuzzy matching, accent-insensitive, on the start of any name component or word.
 */

import { isWhitespace, trimEndWhere } from '../../core/text/trim-end.ts';

const LIGATURES: Record<string, string> = { Œ: 'OE', Æ: 'AE', Ø: 'O', Ł: 'L', Đ: 'D', Þ: 'TH' };

/** Upper-cased, trailing empty components and groups removed: 'Dupré^Élodie^^^' -> 'DUPRÉ^ÉLODIE'. */
export function personNameUpper(name: string): string {
  const groups = name
    .trim()
    .split('=')
    .map((group) => trimEndWhere(group, (c) => c === '^' || isWhitespace(c)));
  while (groups.length > 1 && groups[groups.length - 1] === '') groups.pop();
  return groups.join('=').toUpperCase();
}

/** Upper-cased without diacritics: 'Dupré' -> 'DUPRE', 'Cœur' -> 'COEUR'. */
export function foldAccents(text: string): string {
  return text
    .normalize('NFD')
    .replace(/\p{M}+/gu, '')
    .toUpperCase()
    .replace(/[ŒÆØŁĐÞ]/g, (c) => LIGATURES[c] ?? c);
}

const WORD_SEPARATORS = /[\s\-'’.,]+/;

/**
 * Every component and every word of a name, folded: "D'ARTAGNAN^Jean-Pierre" -> DARTAGNAN, D, ARTAGNAN,
 * JEANPIERRE, JEAN, PIERRE. The joined forms let 'dartagnan' and 'jeanpierre' match too.
 */
export function personNameTokens(name: string): string[] {
  const tokens = new Set<string>();
  for (const component of foldAccents(name).split(/[\^=]/)) {
    const joined = component.replace(/[^\p{L}\p{N}]+/gu, '');
    if (joined) tokens.add(joined);
    for (const word of component.split(WORD_SEPARATORS)) {
      const clean = word.replace(/[^\p{L}\p{N}]+/gu, '');
      if (clean) tokens.add(clean);
    }
  }
  return [...tokens];
}

/** The words of a fuzzy query, folded, wildcards kept: 'dupré^élo*' -> ['DUPRE', 'ELO*']. */
export function fuzzyQueryWords(query: string): string[] {
  return foldAccents(query)
    .split(/[\^=]|[\s\-'’.,]+/)
    .map((word) => word.replace(/[^\p{L}\p{N}*?]+/gu, ''))
    .filter((word) => word !== '' && word !== '*');
}

/** Tokens joined with spaces and framed by spaces (' JEAN MARTIN '), for LIKE '% WORD%' matching. */
export function personNameWords(name: string): string {
  return ` ${personNameTokens(name).join(' ')} `;
}
