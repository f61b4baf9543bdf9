/**
 * The report panel beside the images: the draft saved as it is typed (debounced, with its revision so that two
 * tabs cannot overwrite each other: a 409 says so), given back after a reload; signing (button or Ctrl+Entrée),
 * refused with the API's words next to the fields; then the signed versions read-only with their signature
 * fingerprint, each destination's delivery status (refreshed while one is pending), and addenda with a reason.
 */
import { ApiError, apiFetch, apiJson, problemDetail } from './api.ts';
import { h } from './dom.ts';
import { labelValue, parisDateTime, t } from './i18n.ts';
import { deliveryProblem } from './delivery-problem.ts';
import { reportWords, rt } from './report-i18n.ts';
import { reportEditor, reportView, type ReportEditor } from './report-editor.ts';
import type { ReportFold } from './report-fold.ts';
import {
  DELIVERY_LABELS,
  signatureFingerprint,
  stillDelivering,
  type DraftAnswer,
  type ReportAnswer,
  type ReportContent,
  type SavedAnswer,
} from './report-content.ts';
import type { Session } from './session.ts';
import './report-panel.css';

const SAVE_DELAY_MS = 800;
const DELIVERY_REFRESH_MS = 2000;

interface ItemSummary {
  id: string;
  studyInstanceUID: string;
  status: string;
  assignee: string | null;
}

/** What the browser tests read from the panel. */
export interface ReportProbe {
  itemId?: string;
  revision: number;
  saves: number;
  state: 'none' | 'claim-first' | 'draft' | 'signed';
}

declare global {
  interface Window {
    astreinteReport?: ReportProbe;
  }
}

/** The worklist item this reader reads the study under: the one they hold, else the one signed, else any visible. */
async function itemOfStudy(study: string, session: Session): Promise<ItemSummary | undefined> {
  const { items } = await apiJson<{ items: ItemSummary[] }>('/api/worklist?status=in_progress,completed,scheduled&limit=500');
  const mine = items.filter((i) => i.studyInstanceUID === study);
  return (
    mine.find((i) => i.status === 'IN PROGRESS' && i.assignee === session.user) ??
    mine.find((i) => i.status === 'COMPLETED' && i.assignee === session.user) ??
    mine.find((i) => i.status === 'SCHEDULED')
  );
}

export async function renderReportPanel(panel: HTMLElement, study: string, session: Session, fold?: ReportFold): Promise<() => void> {
  const probe: ReportProbe = { revision: 0, saves: 0, state: 'none' };
  window.astreinteReport = probe;
  const cleanups: (() => void)[] = [];
  const cleanup = (): void => {
    for (const fn of cleanups.splice(0).reverse()) fn();
  };
  if (session.role !== 'reader' && session.role !== 'expert') {
    panel.hidden = true;
    return cleanup;
  }
  const title = h('h2', {}, rt('report'));
  const foldNote = h('p', { class: 'fold-note', role: 'status' });
  const body = h('div', { class: 'report-body' });
  panel.replaceChildren(h('header', { class: 'report-header' }, title, fold?.button, foldNote), body);
  const onFocus = (event: FocusEvent): void => keepAboveSignBar(panel, event.target);
  panel.addEventListener('focusin', onFocus);
  // The bar grows under the reader's hands (a conflict's words, a refusal): the body grows with it.
  const grown = new ResizeObserver(() => {
    if (panel.contains(document.activeElement)) keepAboveSignBar(panel, document.activeElement);
  });
  grown.observe(body);
  cleanups.push(() => {
    panel.removeEventListener('focusin', onFocus);
    grown.disconnect();
  });

  const item = await itemOfStudy(study, session).catch(() => undefined);
  if (!item) {
    panel.hidden = true;
    return cleanup;
  }
  probe.itemId = item.id;
  if (item.status === 'SCHEDULED') {
    probe.state = 'claim-first';
    body.replaceChildren(h('p', { class: 'hint claim-first' }, rt('claimFirst')));
    return cleanup;
  }

  let signShortcut: (() => void) | undefined;
  const onKey = (event: KeyboardEvent): void => {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey) && signShortcut) {
      event.preventDefault();
      // Nothing is signed unseen: folded, the panel opens for the reader to read it over, and the next Ctrl+Entrée signs.
      if (fold?.folded()) {
        fold.set(false);
        foldNote.textContent = rt('shownBeforeSigning');
        return;
      }
      foldNote.textContent = '';
      signShortcut();
    }
  };
  document.addEventListener('keydown', onKey);
  cleanups.push(() => document.removeEventListener('keydown', onKey));

  const showSigned = async (reportId: string, answer?: ReportAnswer): Promise<void> => {
    probe.state = 'signed';
    signShortcut = undefined;
    foldNote.textContent = '';
    const report = answer ?? (await apiJson<ReportAnswer>(`/api/reports/${reportId}`));
    const refresh = await signedView(body, report, (next) => void showSigned(reportId, next), (shortcut) => (signShortcut = shortcut));
    if (refresh) scheduleRefresh(reportId);
  };
  const scheduleRefresh = (reportId: string): void => {
    const timer = setTimeout(() => {
      // Never under the reader's hands: an addendum being written waits for the next turn.
      if (body.querySelector('.addendum-form')) return scheduleRefresh(reportId);
      void showSigned(reportId).catch(() => scheduleRefresh(reportId));
    }, DELIVERY_REFRESH_MS);
    cleanups.push(() => clearTimeout(timer));
  };

  const showDraft = async (): Promise<void> => {
    const answer = await apiJson<DraftAnswer>(`/api/worklist/${item.id}/report`);
    if (answer.reportId) return showSigned(answer.reportId);
    probe.state = 'draft';
    probe.revision = answer.draft.revision;
    const saveState = h('p', { class: 'save-state', role: 'status', 'aria-live': 'polite' });
    const problems = h('div', { class: 'sign-problems', role: 'status' });
    const refusal = h('div', { class: 'sign-refusal', role: 'alert' });
    const signButton = h('button', { class: 'sign primary', type: 'button', title: `${rt('signReport')} (Ctrl+${t('keyEnter')})` }, `${rt('sign')} (Ctrl+${t('keyEnter')})`);
    let revision = answer.draft.revision;
    let conflicted = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let saving: Promise<void> = Promise.resolve();
    /** The content the server holds as this tab last saved it: signing signs the stored draft, so it must be this. */
    let lastSaved: string | undefined;

    const showProblems = (list: string[]): void => {
      problems.replaceChildren(...(list.length > 0 ? [h('p', {}, rt('beforeSigning')), h('ul', {}, ...list.map((p) => h('li', {}, p)))] : []));
    };
    /** The API's refusal, in the bar that holds the Sign button: seen where the reader just clicked. */
    const showRefusal = (message: string): void => {
      refusal.replaceChildren(...(message ? [h('p', { class: 'refusal-text' }, message)] : []));
    };
    const showConflict = (message: string): void => {
      conflicted = true;
      saveState.replaceChildren(
        h('span', { class: 'conflict' }, message),
        h('button', { type: 'button', class: 'reload-draft', onclick: () => void showDraft() }, rt('reloadDraft')),
      );
    };
    const save = async (): Promise<void> => {
      const content = JSON.stringify(editor.read());
      if (conflicted || content === lastSaved) return;
      saveState.textContent = rt('saving');
      const res = await apiFetch(`/api/worklist/${item.id}/report`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: `{"content":${content}${revision > 0 ? `,"revision":${revision}` : ''}}`,
      });
      if (res.status === 409) return showConflict(await problemDetail(res));
      if (!res.ok) {
        saveState.textContent = labelValue(rt('saveFailed'), await problemDetail(res));
        return;
      }
      const saved = (await res.json()) as SavedAnswer;
      lastSaved = content;
      revision = saved.revision;
      probe.revision = revision;
      probe.saves += 1;
      saveState.textContent = `${rt('savedAt')} ${parisDateTime(saved.updatedAt)}`;
      showProblems(saved.signingProblems);
      if (saved.signingProblems.length === 0) showRefusal('');
    };
    const flush = (): Promise<void> => {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      saving = saving.then(save, save);
      return saving;
    };
    const editor: ReportEditor = reportEditor(answer.draft.content, () => {
      if (timer !== undefined) clearTimeout(timer);
      timer = setTimeout(() => {
        timer = undefined;
        saving = saving.then(save, save);
      }, SAVE_DELAY_MS);
    });
    const sign = async (): Promise<void> => {
      if (conflicted || signButton.disabled) return;
      signButton.disabled = true;
      signButton.textContent = rt('signing');
      try {
        // Saved first, then the stored draft signed: a refused signature leaves the revision as this tab knows it.
        await flush();
        if (conflicted || JSON.stringify(editor.read()) !== lastSaved) return;
        const res = await apiFetch(`/api/worklist/${item.id}/report/sign`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
        if (res.status === 409) return showConflict(await problemDetail(res));
        if (!res.ok) {
          showRefusal(await problemDetail(res));
          return editor.focusMissing();
        }
        const report = (await res.json()) as ReportAnswer;
        await showSigned(report.id, report);
      } finally {
        signButton.disabled = false;
        signButton.textContent = `${rt('sign')} (Ctrl+${t('keyEnter')})`;
      }
    };
    signButton.addEventListener('click', () => void sign());
    signShortcut = () => void sign();
    cleanups.push(() => {
      if (timer !== undefined) void flush();
    });

    conflicted = false;
    saveState.textContent = answer.draft.saved && answer.draft.updatedAt ? `${rt('savedAt')} ${parisDateTime(answer.draft.updatedAt)}` : rt('notSavedYet');
    showProblems(answer.signingProblems);
    // Whether the draft is saved, a refusal and the Sign button stay in a bar at the panel's foot, always in sight.
    body.replaceChildren(editor.element, problems, h('div', { class: 'sign-bar' }, refusal, signButton, saveState));
  };

  try {
    await showDraft();
  } catch (error) {
    body.replaceChildren(h('p', { class: 'refusal-text', role: 'alert' }, labelValue(t('loadFailed'), error instanceof ApiError ? error.message : String(error))));
  }
  return cleanup;
}

/**
 * The field focused in the panel brought above the sticky sign bar at its foot, should the browser's own scrolling
 * have left it under the bar (seen in Firefox, whatever the scroll padding): the bar's height is also the panel's
 * scroll padding, for the browser's scrolling as the reader types and tabs.
 */
function keepAboveSignBar(panel: HTMLElement, target: EventTarget | null): void {
  // At once, not on the next frame: what the reader (or a test) clicks next must not move under the pointer.
  const bar = [...panel.querySelectorAll<HTMLElement>('.sign-bar')].at(-1);
  if (!bar || !(target instanceof HTMLElement) || bar.contains(target)) return;
  const barTop = bar.getBoundingClientRect().top;
  panel.style.setProperty('--sign-bar-height', `${bar.offsetHeight}px`);
  const field = target.getBoundingClientRect();
  const hidden = field.bottom + 8 - barTop;
  // Never so far that the field's top leaves the panel (a tall textarea: its top, where one starts reading).
  const room = field.top - panel.getBoundingClientRect().top - 8;
  if (hidden > 0) panel.scrollTop += Math.max(0, Math.min(hidden, room));
}

/** The signed versions read-only, their deliveries, and the addendum form; says whether a delivery is still under way. */
async function signedView(
  body: HTMLElement,
  report: ReportAnswer,
  reload: (next?: ReportAnswer) => void,
  setShortcut: (shortcut: (() => void) | undefined) => void,
): Promise<boolean> {
  const versions = await Promise.all(
    report.versions.map(async (v) => {
      const fingerprint = await signatureFingerprint(v.signature.value).catch(() => '—');
      return h(
        'article',
        { class: 'signed-version', 'data-version': String(v.version), 'data-kind': v.kind },
        h('h3', {}, `${rt('version')} ${v.version}${v.kind === 'addendum' ? ` (${rt('addendumKind')})` : ''}`),
        h('p', { class: 'signed-by' }, `${rt('signedBy')} ${v.author.name} (RPPS ${v.author.rpps}), ${parisDateTime(v.signedAt)}`),
        v.payload.reason ? h('p', { class: 'reason' }, labelValue(rt('reason'), v.payload.reason)) : undefined,
        reportView(v.payload.content),
        h('p', { class: 'fingerprint' }, labelValue(rt('fingerprint'), ''), h('code', {}, fingerprint)),
        h('h4', {}, rt('deliveries')),
        v.deliveries.length === 0
          ? h('p', { class: 'hint' }, rt('noDestination'))
          : h(
              'ul',
              { class: 'deliveries' },
              ...v.deliveries.map((d) =>
                h(
                  'li',
                  { class: 'delivery', 'data-destination': d.destination, 'data-status': d.status },
                  h('span', { class: 'destination' }, `${d.destination} (${d.kind})`),
                  h('span', { class: `delivery-status status-${d.status}` }, rt(DELIVERY_LABELS[d.status])),
                  h('span', { class: 'detail' }, `${d.attempts} ${rt('attempts')}${d.deliveredAt ? ` · ${parisDateTime(d.deliveredAt)}` : ''}`),
                  problemOf(d),
                ),
              ),
            ),
      );
    }),
  );
  const latest = report.versions[report.versions.length - 1];
  const addendumButton = h('button', { type: 'button', class: 'addendum primary' }, rt('addendum'));
  addendumButton.addEventListener('click', () => {
    addendumButton.hidden = true;
    body.append(addendumForm(report, latest.payload.content, reload, setShortcut));
  });
  body.replaceChildren(h('p', { class: 'signed-title' }, rt('signedReport')), ...versions, addendumButton);
  return stillDelivering(report);
}

/** What failed in words a clinician reads, the worker's message folded away for the coordinator. */
function problemOf(delivery: Parameters<typeof deliveryProblem>[0]): HTMLElement | undefined {
  const problem = deliveryProblem(delivery, reportWords());
  if (!problem) return undefined;
  return h(
    'div',
    { class: 'delivery-problem', 'data-failure': problem.failure },
    h('p', { class: 'delivery-what' }, problem.what),
    h('p', { class: 'delivery-next' }, problem.next),
    h('details', { class: 'delivery-technical' }, h('summary', {}, rt('dTechnical')), h('code', {}, problem.technical)),
  );
}

function addendumForm(
  report: ReportAnswer,
  content: ReportContent,
  reload: (next?: ReportAnswer) => void,
  setShortcut: (shortcut: (() => void) | undefined) => void,
): HTMLElement {
  const editor = reportEditor(structuredClone(content), () => undefined);
  const reason = h('textarea', { rows: 2, id: 'addendum-reason', name: 'reason', required: true });
  const message = h('div', { class: 'sign-problems', role: 'alert' });
  const button = h('button', { type: 'button', class: 'sign-addendum primary' }, `${rt('signAddendum')} (Ctrl+${t('keyEnter')})`);
  const sign = async (): Promise<void> => {
    if (reason.value.trim() === '') {
      message.replaceChildren(h('p', { class: 'refusal-text' }, rt('addendumReasonMissing')));
      reason.focus();
      return;
    }
    button.disabled = true;
    try {
      const res = await apiFetch(`/api/reports/${report.id}/addenda`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ content: editor.read(), reason: reason.value }),
      });
      if (!res.ok) {
        message.replaceChildren(h('p', { class: 'refusal-text' }, await problemDetail(res)));
        return;
      }
      setShortcut(undefined);
      reload();
    } finally {
      button.disabled = false;
    }
  };
  button.addEventListener('click', () => void sign());
  setShortcut(() => void sign());
  const form = h(
    'div',
    { class: 'addendum-form' },
    h('h3', {}, rt('addendum')),
    h('div', { class: 'field' }, h('label', { for: 'addendum-reason' }, rt('addendumReason')), reason),
    editor.element,
    message,
    h('div', { class: 'sign-bar' }, button, h('button', { type: 'button', onclick: () => (setShortcut(undefined), reload()) }, rt('cancel'))),
  );
  return form;
}
