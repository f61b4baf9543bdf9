/**
 * Text as routing compares it: lower case, accents removed, œ/æ spelled out, every run of other characters
 * one space ("TDM Cérébrale - AVC" -> "tdm cerebrale avc"). Keywords match whole words of this form.
 */
export function normalizeWords(text: string): string {
  return text
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/œ/g, 'oe')
    .replace(/æ/g, 'ae')
    .replace(/[^a-z0-9]+/g, ' ')
    .trim();
}
