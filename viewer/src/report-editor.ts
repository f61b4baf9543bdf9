/**
 * The report's fields, in the order of the national framework's "compte rendu d'imagerie": Indication, Technique
 * (equipment, protocol, contrast, CTDIvol and DLP per acquisition), Résultats, Conclusion; the coded conclusion
 * and CLAT recommendation for tuberculosis screening; the critical-finding call. Used for the draft and for addenda.
 */
import { h } from './dom.ts';
import { labelValue, parisDateTime } from './i18n.ts';
import { rt, type ReportMessageKey } from './report-i18n.ts';
import {
  DOSE_SOURCES,
  parisIsoFromLocal,
  parisLocal,
  TB_CONCLUSIONS,
  TEMPLATES,
  type DoseEntry,
  type ReportContent,
  type TbConclusion,
  type TemplateId,
} from './report-content.ts';

export interface ReportEditor {
  element: HTMLElement;
  /** The content as typed, in the API's shape (empty optional fields left out). */
  read(): ReportContent;
  /** Brings the first field still needed for signing into view and focuses it (after a refusal). */
  focusMissing(): void;
}

let fieldCount = 0;

function labelled(label: ReportMessageKey, control: HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement, name: string, section = false): HTMLElement {
  const id = `report-field-${++fieldCount}`;
  control.id = id;
  control.name = name;
  return h('div', { class: section ? 'field section' : 'field' }, h('label', { for: id }, rt(label)), control);
}

function textArea(value: string, rows: number): HTMLTextAreaElement {
  const area = h('textarea', { rows, spellcheck: 'true', lang: 'fr' });
  area.value = value;
  return area;
}

function input(value: string, props: Record<string, string> = {}): HTMLInputElement {
  const field = h('input', { type: 'text', ...props });
  field.value = value;
  return field;
}

const decimal = (text: string): string | undefined => {
  const value = text.trim().replace(',', '.');
  return value === '' ? undefined : value;
};

export function reportEditor(content: ReportContent, onChange: () => void): ReportEditor {
  const template = h('select', {});
  for (const entry of TEMPLATES) template.append(h('option', { value: entry.id, selected: entry.id === content.template }, rt(entry.label)));
  const indication = textArea(content.indication, 3);
  const equipment = input(content.technique.equipment);
  const protocol = textArea(content.technique.protocol, 2);
  const contrast = input(content.technique.contrast);
  const findings = textArea(content.findings, 8);
  const conclusion = textArea(content.conclusion, 3);

  const doseRows = h('tbody', {});
  const doseRow = (dose: DoseEntry): HTMLTableRowElement => {
    const acquisition = input(dose.acquisition, { 'aria-label': rt('acquisition'), 'data-dose': 'acquisition' });
    const ctdi = input(dose.ctdiVolMGy ?? '', { inputmode: 'decimal', 'aria-label': rt('ctdiVol'), 'data-dose': 'ctdi' });
    const dlp = input(dose.dlpMGyCm ?? '', { inputmode: 'decimal', 'aria-label': rt('dlp'), 'data-dose': 'dlp' });
    const source = h('td', { class: 'dose-source' }, rt(DOSE_SOURCES[dose.source ?? 'typed']));
    const row = h('tr', { 'data-source': dose.source ?? 'typed' }, h('td', {}, acquisition), h('td', {}, ctdi), h('td', {}, dlp), source);
    // Figures read from the study become "typed" once the reader changes them: the report says where each came from.
    for (const field of [ctdi, dlp]) {
      field.addEventListener('input', () => {
        row.dataset.source = 'typed';
        source.textContent = rt('sourceTyped');
      });
    }
    row.append(h('td', {}, h('button', { class: 'remove-dose', type: 'button', onclick: () => (row.remove(), onChange()) }, rt('removeDose'))));
    return row;
  };
  for (const dose of content.technique.doses) doseRows.append(doseRow(dose));
  const doses = h(
    'div',
    { class: 'doses' },
    h('h4', {}, rt('doses')),
    h(
      'table',
      {},
      h('thead', {}, h('tr', {}, h('th', {}, rt('acquisition')), h('th', {}, rt('ctdiVol')), h('th', {}, rt('dlp')), h('th', {}, rt('doseSource')), h('th', {}))),
      doseRows,
    ),
    h('button', { type: 'button', class: 'add-dose', onclick: () => (doseRows.append(doseRow({ acquisition: '', source: 'typed' })), onChange()) }, rt('addDose')),
  );

  const tbChoices = TB_CONCLUSIONS.map((choice) => {
    const radio = h('input', { type: 'radio', name: `tb-conclusion-${fieldCount}`, value: choice.id, checked: content.tbConclusion === choice.id });
    return { choice, radio, label: h('label', { class: 'choice' }, radio, rt(choice.label)) };
  });
  const recommendation = textArea(content.recommendation ?? '', 2);
  const tb = h(
    'fieldset',
    { class: 'tb' },
    h('legend', {}, rt('tbConclusion')),
    ...tbChoices.map((c) => c.label),
    labelled('recommendation', recommendation, 'recommendation'),
  );
  const showTb = (): void => {
    tb.hidden = template.value !== 'cxr-tb-screening';
  };
  showTb();
  template.addEventListener('change', showTb);

  const critical = content.criticalFinding;
  const flagged = h('input', { type: 'checkbox', name: 'critical', checked: critical?.flagged === true });
  const calledWho = input(critical?.calledWho ?? '', { autocomplete: 'off' });
  const calledAt = h('input', { type: 'datetime-local' });
  calledAt.value = critical?.calledAt ? parisLocal(critical.calledAt) : '';
  const how = input(critical?.how ?? '', { list: 'critical-how' });
  const now = h('button', { type: 'button', class: 'called-now', onclick: () => ((calledAt.value = parisLocal(Date.now())), onChange()) }, rt('calledNow'));
  const call = h(
    'div',
    { class: 'critical-call' },
    labelled('calledWho', calledWho, 'calledWho'),
    h('div', { class: 'field inline' }, labelled('calledAt', calledAt, 'calledAt'), now),
    labelled('calledHow', how, 'how'),
    h('datalist', { id: 'critical-how' }, ...(['howPhone', 'howInPerson', 'howSecureMail'] as const).map((key) => h('option', { value: rt(key) }))),
  );
  const showCall = (): void => {
    call.hidden = !flagged.checked;
  };
  showCall();
  flagged.addEventListener('change', showCall);
  const criticalSet = h('fieldset', { class: 'critical' }, h('legend', {}, rt('critical')), h('label', { class: 'choice flag' }, flagged, rt('criticalFlag')), call);

  const element = h(
    'div',
    { class: 'report-editor' },
    labelled('reportTemplate', template, 'template'),
    labelled('indication', indication, 'indication', true),
    h(
      'fieldset',
      { class: 'technique' },
      h('legend', {}, rt('technique')),
      labelled('equipment', equipment, 'equipment'),
      labelled('protocol', protocol, 'protocol'),
      labelled('contrast', contrast, 'contrast'),
      doses,
    ),
    labelled('findings', findings, 'findings', true),
    labelled('conclusion', conclusion, 'conclusion', true),
    tb,
    criticalSet,
  );
  element.addEventListener('input', onChange);
  element.addEventListener('change', onChange);

  const read = (): ReportContent => {
    const templateId = template.value as TemplateId;
    const tbConclusion = tbChoices.find((c) => c.radio.checked)?.choice.id as TbConclusion | undefined;
    const doseEntries: DoseEntry[] = [...doseRows.querySelectorAll('tr')].map((row) => {
      const value = (name: string) => row.querySelector<HTMLInputElement>(`input[data-dose="${name}"]`)?.value ?? '';
      return { acquisition: value('acquisition').trim(), ctdiVolMGy: decimal(value('ctdi')), dlpMGyCm: decimal(value('dlp')), source: (row.dataset.source ?? 'typed') as DoseEntry['source'] };
    }).filter((d) => d.acquisition !== '' || d.ctdiVolMGy !== undefined || d.dlpMGyCm !== undefined);
    const isTb = templateId === 'cxr-tb-screening';
    return {
      template: templateId,
      indication: indication.value,
      technique: { equipment: equipment.value, protocol: protocol.value, contrast: contrast.value, doses: doseEntries.map((d) => ({ ...d, acquisition: d.acquisition || '—' })) },
      findings: findings.value,
      conclusion: conclusion.value,
      ...(isTb && tbConclusion ? { tbConclusion } : {}),
      ...(isTb && recommendation.value.trim() ? { recommendation: recommendation.value } : {}),
      ...(flagged.checked || calledWho.value || how.value
        ? {
            criticalFinding: {
              flagged: flagged.checked,
              ...(calledWho.value.trim() ? { calledWho: calledWho.value } : {}),
              ...(parisIsoFromLocal(calledAt.value) ? { calledAt: parisIsoFromLocal(calledAt.value) } : {}),
              ...(how.value.trim() ? { how: how.value } : {}),
            },
          }
        : {}),
    };
  };
  const focusMissing = (): void => {
    const tbShown = template.value === 'cxr-tb-screening';
    const tbChecked = tbChoices.find((c) => c.radio.checked)?.choice.id;
    const missing = [
      indication.value.trim() === '' && indication,
      conclusion.value.trim() === '' && conclusion,
      tbShown && !tbChecked && tbChoices[0].radio,
      tbShown && tbChecked === 'suggestive-of-tb' && recommendation.value.trim() === '' && recommendation,
      flagged.checked && calledWho.value.trim() === '' && calledWho,
      flagged.checked && calledAt.value === '' && calledAt,
      flagged.checked && how.value.trim() === '' && how,
    ].find((field): field is HTMLInputElement | HTMLTextAreaElement => field !== false);
    missing?.scrollIntoView({ block: 'center' });
    missing?.focus({ preventScroll: true });
  };
  return { element, read, focusMissing };
}

/** The signed content, read-only: the same sections as the editor. */
export function reportView(content: ReportContent): HTMLElement {
  const section = (title: ReportMessageKey, text: string) => h('section', {}, h('h3', {}, rt(title)), h('p', { class: 'report-text' }, text.trim() || '—'));
  const technique = content.technique;
  const techniqueLines = [
    technique.equipment && labelValue(rt('equipment'), technique.equipment),
    technique.protocol && labelValue(rt('protocol'), technique.protocol),
    technique.contrast && labelValue(rt('contrast'), technique.contrast),
    ...technique.doses.map((d) => labelValue(d.acquisition, `CTDIvol ${d.ctdiVolMGy ?? '—'} mGy, ${rt('dlp').replace(/ \(.*/, '')} ${d.dlpMGyCm ?? '—'} mGy·cm`)),
  ].filter(Boolean);
  const tb = content.tbConclusion ? TB_CONCLUSIONS.find((c) => c.id === content.tbConclusion) : undefined;
  const critical = content.criticalFinding?.flagged ? content.criticalFinding : undefined;
  return h(
    'div',
    { class: 'report-view' },
    section('indication', content.indication),
    section('technique', techniqueLines.join('\n')),
    section('findings', content.findings),
    section('conclusion', content.conclusion),
    tb && h('p', { class: 'report-text' }, labelValue(rt('tbConclusion'), rt(tb.label))),
    content.recommendation?.trim() && h('p', { class: 'report-text' }, labelValue(rt('recommendation'), content.recommendation)),
    critical && h('p', { class: 'report-text critical-note' }, labelValue(rt('critical'), `${critical.calledWho} — ${critical.calledAt ? parisDateTime(critical.calledAt) : ''} — ${critical.how}`)),
  );
}
