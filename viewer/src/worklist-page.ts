import { ApiError, apiFetch, apiJson, authorizedImageUrl, problemDetail } from './api.ts';
import { h } from './dom.ts';
import { labelValue, parisDateTime, t, type MessageKey } from './i18n.ts';
import { currentSession } from './session.ts';
import { prefetchStudy } from './study-prefetch.ts';
import { followWorklistEvents } from './worklist-events.ts';

export interface WorklistItem {
  id: string;
  studyInstanceUID: string;
  site: string;
  siteName: string | null;
  territory: string;
  modality: string;
  bodyPart: string | null;
  category: string;
  priority: string;
  priorityRank: number;
  status: 'SCHEDULED' | 'IN PROGRESS' | 'COMPLETED' | 'CANCELED';
  pool: string;
  assignee: string | null;
  assigneeName: string | null;
  deadline: string;
  routedAt: string;
}

type Scope = 'mine' | 'pools' | '';

interface Filters {
  scope: Scope;
  modality: string;
  status: string;
  site: string;
  territory: string;
  text: string;
}

type BadgeKind = 'stroke' | 'urgent' | 'tb';

/**
 * Each badge differs by its word, its glyph and its border (solid, dashed, dotted) as well as its colour, so that
 * it reads in greyscale and with any colour blindness (orange and sky blue have the same luminance).
 */
const BADGES: Record<BadgeKind, { glyph: string; label: MessageKey }> = {
  stroke: { glyph: '⚡', label: 'stroke' },
  urgent: { glyph: '▲', label: 'urgent' },
  tb: { glyph: '●', label: 'tb' },
};

function badgeKind(item: WorklistItem): BadgeKind | undefined {
  if (item.category === 'stroke' || item.priority === 'stroke') return 'stroke';
  if (item.category === 'chest-tb-screening' || item.priority === 'tb-screening') return 'tb';
  if (item.priority === 'urgent' || item.priority === 'stat') return 'urgent';
  return undefined;
}

function badgeOf(item: WorklistItem): HTMLElement {
  const kind = badgeKind(item);
  if (!kind) {
    const label = item.priority === 'scheduled' ? t('scheduled') : item.priority;
    return h('span', { class: 'badge badge-none', 'data-badge': 'none', title: label }, label);
  }
  const { glyph, label } = BADGES[kind];
  return h(
    'span',
    { class: `badge badge-${kind}`, 'data-badge': kind, title: labelValue(t('priority'), t(label)) },
    h('span', { class: 'badge-glyph', 'aria-hidden': 'true' }, glyph),
    ' ',
    h('span', { class: 'badge-label' }, t(label)),
  );
}

function statusText(status: WorklistItem['status']): string {
  return { SCHEDULED: t('scheduled'), 'IN PROGRESS': t('inProgress'), COMPLETED: t('completed'), CANCELED: t('canceled') }[status];
}

/** "1 h 05 min 12 s", or "dépassée de 3 min 02 s" once past. */
export function countdown(deadline: string, now = Date.now() + serverClockOffsetMs): { text: string; overdue: boolean } {
  const ms = Date.parse(deadline) - now;
  const total = Math.floor(Math.abs(ms) / 1000);
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = total % 60;
  const pad = (n: number) => String(n).padStart(2, '0');
  const text = hours > 0 ? `${hours} h ${pad(minutes)} min ${pad(seconds)} s` : `${minutes} min ${pad(seconds)} s`;
  return ms >= 0 ? { text, overdue: false } : { text: `${t('overdue')} ${text}`, overdue: true };
}

/** The gateway's clock minus this browser's (header Astreinte-Now of the worklist). */
let serverClockOffsetMs = 0;

const thumbnails = new Map<string, Promise<string | undefined>>();

/** The study's thumbnail (PS3.18 /thumbnail); a study without one shows a plain placeholder. */
function thumbnailOf(study: string): Promise<string | undefined> {
  let found = thumbnails.get(study);
  if (!found) {
    found = authorizedImageUrl(`/dicomweb/studies/${study}/thumbnail?viewport=64,64`);
    thumbnails.set(study, found);
  }
  return found;
}

/**
 * The choices of a filter: the values present in the list (and the one chosen, kept while no item has it), by
 * their label; rebuilt only when they change, so that an open menu is not reset by a live update.
 */
function fillChoices(select: HTMLSelectElement, anyLabel: string, pairs: [string, string][], chosen: string): void {
  const choices = new Map(pairs);
  if (chosen && !choices.has(chosen)) choices.set(chosen, chosen);
  const sorted = [...choices].sort((a, b) => a[1].localeCompare(b[1], 'fr'));
  const current = [...select.options].slice(1).map((o) => `${o.value}\u0000${o.text}`);
  if (current.join('\n') === sorted.map(([value, label]) => `${value}\u0000${label}`).join('\n')) return;
  select.replaceChildren(h('option', { value: '' }, anyLabel), ...sorted.map(([value, label]) => h('option', { value }, label)));
  select.value = chosen;
}

/** Coordinators see the items of their territory, never the images (the gateway refuses them): none is asked. */
function seesImages(): boolean {
  return currentSession()?.role !== 'coordinator';
}

/**
 * Gets a study ready to open while the reader points at it, selects it or claims it: its series and first
 * series' metadata asked for, Cornerstone started (decode workers, tools). Coordinators never see images.
 */
function prepareToRead(item: WorklistItem): void {
  if (!seesImages()) return;
  prefetchStudy(item.studyInstanceUID);
  void import('./cornerstone-setup.ts').then((setup) => setup.initCornerstone()).catch(() => undefined);
}

export async function renderWorklist(root: HTMLElement, go: (path: string) => void): Promise<() => void> {
  const filters: Filters = { scope: '', modality: '', status: '', site: '', territory: '', text: '' };
  let items: WorklistItem[] = [];
  let selected = 0;
  const liveBadge = h('span', { class: 'live', 'data-live': 'false' }, t('offline'));
  const message = h('p', { class: 'status', role: 'status' });
  const body = h('tbody');
  const table = h(
    'table',
    { class: 'worklist' },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ...['', t('priority'), t('site'), t('territory'), t('modality'), t('bodyPart'), t('status'), t('deadline'), ''].map((label) => h('th', { scope: 'col' }, label)),
      ),
    ),
    body,
  );
  const scopeSelect = h(
    'select',
    { 'aria-label': t('scope'), name: 'scope' },
    h('option', { value: '' }, t('scopeAll')),
    h('option', { value: 'mine' }, t('scopeMine')),
    h('option', { value: 'pools' }, t('scopePools')),
  );
  const modalitySelect = h('select', { 'aria-label': t('filterModality'), name: 'modality' }, h('option', { value: '' }, labelValue(t('filterModality'), t('any'))));
  const statusSelect = h(
    'select',
    { 'aria-label': t('filterStatus'), name: 'status' },
    h('option', { value: '' }, labelValue(t('filterStatus'), t('any'))),
    h('option', { value: 'SCHEDULED' }, t('scheduled')),
    h('option', { value: 'IN PROGRESS' }, t('inProgress')),
  );
  const siteSelect = h('select', { 'aria-label': t('filterSite'), name: 'site' }, h('option', { value: '' }, labelValue(t('filterSite'), t('anySite'))));
  const territorySelect = h(
    'select',
    { 'aria-label': t('filterTerritory'), name: 'territory' },
    h('option', { value: '' }, labelValue(t('filterTerritory'), t('anyTerritory'))),
  );
  const textInput = h('input', { type: 'search', placeholder: t('filterText'), 'aria-label': t('filterText'), name: 'text' });
  for (const [element, key] of [
    [scopeSelect, 'scope'],
    [modalitySelect, 'modality'],
    [statusSelect, 'status'],
    [siteSelect, 'site'],
    [territorySelect, 'territory'],
    [textInput, 'text'],
  ] as const) {
    element.addEventListener('input', () => {
      (filters as unknown as Record<string, string>)[key] = element.value;
      if (key === 'scope') void reload();
      else draw();
    });
  }

  root.replaceChildren(
    h(
      'main',
      { class: 'worklist-page' },
      h('div', { class: 'toolbar' }, h('h1', {}, t('worklist')), liveBadge, scopeSelect, modalitySelect, statusSelect, siteSelect, territorySelect, textInput),
      message,
      table,
      h('p', { class: 'hint' }, t('keysWorklist')),
    ),
  );

  const visible = (): WorklistItem[] =>
    items.filter(
      (item) =>
        (!filters.modality || item.modality === filters.modality) &&
        (!filters.status || item.status === filters.status) &&
        (!filters.site || item.site === filters.site) &&
        (!filters.territory || item.territory === filters.territory) &&
        (!filters.text || `${item.siteName ?? ''} ${item.site} ${item.territory}`.toLowerCase().includes(filters.text.toLowerCase())),
    );

  const claim = async (item: WorklistItem): Promise<void> => {
    prepareToRead(item);
    try {
      await apiJson(`/api/worklist/${item.id}/claim`, { method: 'POST' });
      message.textContent = labelValue(t('claimed'), item.siteName ?? item.site);
      await reload();
    } catch (error) {
      message.textContent = (error as Error).message;
    }
  };

  function draw(): void {
    const shown = visible();
    selected = Math.min(selected, Math.max(shown.length - 1, 0));
    fillChoices(modalitySelect, labelValue(t('filterModality'), t('any')), items.map((i) => [i.modality, i.modality]), filters.modality);
    fillChoices(siteSelect, labelValue(t('filterSite'), t('anySite')), items.map((i) => [i.site, i.siteName ?? i.site]), filters.site);
    fillChoices(territorySelect, labelValue(t('filterTerritory'), t('anyTerritory')), items.map((i) => [i.territory, i.territory]), filters.territory);
    body.replaceChildren(
      ...shown.map((item, index) => {
        const thumb = seesImages()
          ? h('img', { class: 'thumb', alt: '', width: 64, height: 64, 'data-study': item.studyInstanceUID })
          : h('span', { class: 'thumb' });
        if (thumb instanceof HTMLImageElement) {
          void thumbnailOf(item.studyInstanceUID).then((url) => {
            if (url) thumb.src = url;
            else thumb.replaceWith(h('span', { class: 'thumb thumb-missing' }, t('thumbnailMissing')));
          });
        }
        const remaining = countdown(item.deadline);
        const row = h(
          'tr',
          {
            class: `item${index === selected ? ' selected' : ''}${remaining.overdue ? ' overdue' : ''}`,
            'data-item': item.id,
            'data-study': item.studyInstanceUID,
            'data-priority': item.priority,
            'data-priority-rank': item.priorityRank,
            'data-status': item.status,
            'aria-selected': index === selected ? 'true' : 'false',
          },
          h('td', {}, thumb),
          h('td', { class: 'priority' }, badgeOf(item)),
          h('td', {}, item.siteName ?? item.site),
          h('td', {}, item.territory),
          h('td', {}, item.modality),
          h('td', {}, item.bodyPart ?? '—'),
          h('td', { class: 'item-status' }, statusText(item.status), item.assigneeName ? ` — ${item.assigneeName}` : ''),
          h('td', { class: 'countdown', 'data-deadline': item.deadline, title: parisDateTime(item.deadline) }, remaining.text),
          h(
            'td',
            { class: 'actions' },
            item.status === 'SCHEDULED' ? h('button', { class: 'claim', onclick: () => void claim(item) }, t('claim')) : undefined,
            h('button', { class: 'open', onclick: () => go(`/studies/${item.studyInstanceUID}`) }, t('open')),
          ),
        );
        row.addEventListener('pointerenter', () => prepareToRead(item));
        row.addEventListener('click', () => {
          selected = index;
          for (const other of body.querySelectorAll('tr')) other.classList.toggle('selected', other === row);
        });
        return row;
      }),
    );
    if (shown.length === 0) body.append(h('tr', {}, h('td', { colspan: 9, class: 'empty' }, t('noItems'))));
  }

  async function reload(): Promise<void> {
    try {
      const query = filters.scope ? `?scope=${filters.scope}` : '';
      const res = await apiFetch(`/api/worklist${query}`);
      if (!res.ok) throw new ApiError(res.status, await problemDetail(res));
      const serverNow = Date.parse(res.headers.get('Astreinte-Now') ?? '');
      if (Number.isFinite(serverNow)) serverClockOffsetMs = serverNow - Date.now();
      items = ((await res.json()) as { items: WorklistItem[] }).items;
      message.textContent = '';
      draw();
    } catch (error) {
      message.textContent = error instanceof ApiError ? error.message : labelValue(t('loadFailed'), (error as Error).message);
    }
  }

  let pending: ReturnType<typeof setTimeout> | undefined;
  const stopEvents = followWorklistEvents(
    () => {
      clearTimeout(pending);
      pending = setTimeout(() => void reload(), 100);
    },
    (live) => {
      liveBadge.textContent = live ? t('live') : t('offline');
      liveBadge.dataset.live = String(live);
    },
  );
  const ticker = setInterval(() => {
    for (const cell of body.querySelectorAll<HTMLElement>('td.countdown')) {
      const remaining = countdown(cell.dataset.deadline ?? '');
      cell.textContent = remaining.text;
      cell.parentElement?.classList.toggle('overdue', remaining.overdue);
    }
  }, 1000);
  const onKey = (event: KeyboardEvent): void => {
    if (event.target instanceof HTMLInputElement || event.target instanceof HTMLSelectElement) return;
    const shown = visible();
    if (event.key === 'ArrowDown') selected = Math.min(selected + 1, shown.length - 1);
    else if (event.key === 'ArrowUp') selected = Math.max(selected - 1, 0);
    else if ((event.key === 'c' || event.key === 'p') && shown[selected]) return void claim(shown[selected]);
    else if (event.key === 'Enter' && shown[selected]) return go(`/studies/${shown[selected].studyInstanceUID}`);
    else return;
    event.preventDefault();
    if (shown[selected]) prepareToRead(shown[selected]);
    draw();
  };
  document.addEventListener('keydown', onKey);
  await reload();
  return () => {
    stopEvents();
    clearInterval(ticker);
    clearTimeout(pending);
    document.removeEventListener('keydown', onKey);
  };
}

