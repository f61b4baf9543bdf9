/**
 * The report panel folded into a strip beside the images, for the images to take the width: its toggle in the
 * panel's header, `T` on the reading page, the choice kept in this browser. Folded, the panel's content is hidden,
 * never removed: a draft being typed keeps its text and a save under way carries on.
 */
import { h } from './dom.ts';
import { rt } from './report-i18n.ts';

const FOLDED_KEY = 'astreinte.reportFolded';
/** The reading page's shortcut (free among its single keys). */
export const REPORT_FOLD_KEY = 't';

export interface ReportFold {
  /** The toggle, for the panel's header (the one thing the folded strip shows). */
  button: HTMLButtonElement;
  folded(): boolean;
  set(folded: boolean): void;
}

export function reportFold(panel: HTMLElement): ReportFold {
  const button = h('button', { type: 'button', class: 'report-fold' });
  const folded = (): boolean => panel.classList.contains('folded');
  const set = (fold: boolean): void => {
    // Focus in what is being hidden would be lost: it goes to the toggle, which stays.
    const focusHidden = fold && panel.contains(document.activeElement) && document.activeElement !== button;
    panel.classList.toggle('folded', fold);
    button.setAttribute('aria-expanded', String(!fold));
    button.textContent = fold ? rt('report') : rt('hideReport');
    button.title = `${fold ? rt('showReport') : rt('hideReport')} (${REPORT_FOLD_KEY.toUpperCase()})`;
    if (focusHidden) button.focus();
    try {
      if (fold) localStorage.setItem(FOLDED_KEY, 'true');
      else localStorage.removeItem(FOLDED_KEY);
    } catch {
      // Storage refused (private browsing): folded for this page only.
    }
  };
  button.addEventListener('click', () => set(!folded()));
  let remembered = false;
  try {
    remembered = localStorage.getItem(FOLDED_KEY) === 'true';
  } catch {
    // as above
  }
  set(remembered);
  return { button, folded, set };
}
