/**
 * Right-trims in linear time. A regular expression such as `/[\^ ]+$/` is quadratic in V8 on a long run of
 * those characters followed by anything else (each start position scans the run to its end, then fails):
 * 64 KB of `^` in a Patient Name held the event loop for seconds. Never right-trim with `X+$`.
 */

/** `text` without the trailing characters that are in `chars`: trimEndChars('A^^ ', '^ ') -> 'A'. */
export function trimEndChars(text: string, chars: string): string {
  let end = text.length;
  while (end > 0 && chars.includes(text[end - 1])) end -= 1;
  return end === text.length ? text : text.slice(0, end);
}

/** `text` without trailing characters for which `isPadding` holds (it receives one UTF-16 code unit). */
export function trimEndWhere(text: string, isPadding: (char: string) => boolean): string {
  let end = text.length;
  while (end > 0 && isPadding(text[end - 1])) end -= 1;
  return end === text.length ? text : text.slice(0, end);
}

const WHITESPACE = /\s/;

/** The characters `\s` matches (Unicode white space and line terminators), one code unit at a time. */
export function isWhitespace(char: string): boolean {
  return WHITESPACE.test(char);
}
