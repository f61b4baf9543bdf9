/** Reading the worklist page (viewer/src/worklist-page.ts) in a browser test, Chromium or Firefox. */
import type { EvaluatingPage } from './browser.ts';

export interface RowView {
  study: string;
  priority: string;
  rank: number;
  deadline: string;
  status: string;
  badge: string;
  label: string;
  glyph: string;
  glyphHidden: string | null;
  title: string | null;
  borderStyle: string;
  background: string;
}

/** What each row of the worklist shows, in the page's order. */
export async function worklistRows(page: EvaluatingPage): Promise<RowView[]> {
  return (await page.evaluate(`[...document.querySelectorAll('tr.item')].map((row) => {
    const badge = row.querySelector('.badge');
    const style = getComputedStyle(badge);
    return {
      study: row.dataset.study,
      priority: row.dataset.priority,
      rank: Number(row.dataset.priorityRank),
      deadline: row.querySelector('td.countdown').dataset.deadline,
      status: row.dataset.status,
      badge: badge.dataset.badge,
      label: badge.querySelector('.badge-label')?.textContent ?? badge.textContent,
      glyph: badge.querySelector('.badge-glyph')?.textContent ?? '',
      glyphHidden: badge.querySelector('.badge-glyph')?.getAttribute('aria-hidden'),
      title: badge.getAttribute('title'),
      borderStyle: style.borderTopStyle,
      background: style.backgroundColor,
    };
  })`)) as RowView[];
}
