/** The report panel's words in the reader's language (report-words.ts holds them). */
import { language } from './i18n.ts';
import { REPORT_EN, REPORT_FR, type ReportMessageKey } from './report-words.ts';

export type { ReportMessageKey } from './report-words.ts';

export function rt(key: ReportMessageKey): string {
  return reportWords()[key];
}

export function reportWords(): Record<ReportMessageKey, string> {
  return language() === 'en' ? REPORT_EN : REPORT_FR;
}
