import {
  cache,
  Enums,
  eventTarget,
  getShouldUseCPURendering,
  metaData,
  utilities,
  type StackViewport,
  type Types,
} from '@cornerstonejs/core';
import dicomImageLoader from '@cornerstonejs/dicom-image-loader';
import {
  annotation,
  AngleTool,
  Enums as ToolEnums,
  EllipticalROITool,
  LengthTool,
  PanTool,
  RectangleROITool,
  ReferenceLinesTool,
  StackScrollTool,
  ToolGroupManager,
  utilities as toolUtilities,
  WindowLevelTool,
  ZoomTool,
} from '@cornerstonejs/tools';
import { ApiError, apiFetch, apiJson, authorizedImageUrl, DICOMWEB, problemDetail } from './api.ts';
import { dicomDate, dicomTime, number, personName, TAGS, text, type DicomJson } from './dicom-json.ts';
import { h } from './dom.ts';
import { labelValue, language, t, type MessageKey } from './i18n.ts';
import { MPR_VIEWPORTS, openMpr } from './mpr-view.ts';
import { orientationMarkers } from './orientation.ts';
import { PRESETS } from './presets.ts';
import { rt } from './report-i18n.ts';
import { RENDERING_ENGINE_ID, readingEngine } from './reading-engine.ts';
import { warmUpReading } from './reading-warm-up.ts';
import { REPORT_FOLD_KEY, reportFold } from './report-fold.ts';
import { renderReportPanel } from './report-panel.ts';
import { seriesEntries, seriesSearchPath, type SeriesEntry } from './series-entries.ts';
import { loadSeriesPixels, type SeriesPixelLoad } from './series-pixel-loader.ts';
import { currentSession } from './session.ts';
import { jsonFetchedAhead, metadataPath } from './study-prefetch.ts';

const VIEWPORT_ID = 'main';
const TOOL_GROUP_ID = 'reading-tools';
const PRIOR_VIEWPORT_ID = 'prior';

type PrimaryTool = 'window' | 'pan' | 'zoom' | 'length' | 'angle' | 'ellipse' | 'rectangle';

const PRIMARY_TOOLS: Record<PrimaryTool, { toolName: string; label: MessageKey; key: string }> = {
  window: { toolName: WindowLevelTool.toolName, label: 'windowLevel', key: 'w' },
  pan: { toolName: PanTool.toolName, label: 'pan', key: 'x' },
  zoom: { toolName: ZoomTool.toolName, label: 'zoom', key: 'z' },
  length: { toolName: LengthTool.toolName, label: 'length', key: 'l' },
  angle: { toolName: AngleTool.toolName, label: 'angle', key: 'a' },
  ellipse: { toolName: EllipticalROITool.toolName, label: 'ellipse', key: 'e' },
  rectangle: { toolName: RectangleROITool.toolName, label: 'rectangle', key: 'b' },
};

/** What the end-to-end tests and the bench read from the page (never patient data beyond what is drawn). */
export interface ReadingProbe {
  /** Renders that showed a loaded image of the series opened. */
  renders: number;
  firstImageMs?: number;
  metadataRequestedAt?: number;
  imageIndex: number;
  imageCount: number;
  /** Window width and center shown (DICOM linear convention). */
  window?: { width: number; center: number };
  rendering: 'cpu' | 'webgl';
  seriesUid?: string;
  /** SOP Instance UID of the slice shown. */
  sopInstanceUid?: string;
  /** Whether the axial/coronal/sagittal reformats are shown, and each one's renders. */
  mpr: { open: boolean; renders: Record<string, number> };
  /** The prior shown side by side, when one is. */
  prior?: { study: string; renders: number; imageIndex: number };
  imageToClient(column: number, row: number): [number, number] | undefined;
  /** Frames of the shown series that came in its one Pixel Data request, once that answer was read to its end. */
  streamedFrames?: number;
  /** How many slices of the shown series are in Cornerstone's cache (scrolling them needs no request). */
  cachedCount(): number;
  /** Each annotation's tool and its handles in image pixel coordinates (column, row). */
  annotationHandles(): { tool: string; points: [number, number][] }[];
  /**
   * Each annotation's tool, handles (image pixels) and the statistics Cornerstone computed for it: length in mm,
   * angle in degrees, ROI mean, standard deviation, minimum and maximum in the modality's unit (HU for CT: the
   * modality LUT applied) and area in mm². `settled`: drawn to the end and its statistics computed from its
   * final handles (they are computed at most every 100 ms while it is drawn).
   */
  measurements(): { tool: string; points: [number, number][]; stats?: StatsEntry; settled: boolean }[];
}

declare global {
  interface Window {
    astreinteReading?: ReadingProbe;
  }
}

export { warmUpReading };

export async function renderReadingPage(root: HTMLElement, study: string, go: (path: string) => void): Promise<() => void> {
  const status = h('p', { class: 'status', role: 'status' });
  const seriesList = h('ul', { class: 'series-list', 'aria-label': t('series') });
  const element = h('div', { class: 'viewport', tabindex: 0, 'data-viewport': VIEWPORT_ID });
  const overlay = {
    topLeft: h('div', { class: 'overlay top-left' }),
    topRight: h('div', { class: 'overlay top-right' }),
    bottomLeft: h('div', { class: 'overlay bottom-left' }),
    bottomRight: h('div', { class: 'overlay bottom-right' }),
    left: h('div', { class: 'marker marker-left' }),
    right: h('div', { class: 'marker marker-right' }),
    top: h('div', { class: 'marker marker-top' }),
    bottom: h('div', { class: 'marker marker-bottom' }),
  };
  const mprContainer = h('div', { class: 'mpr' });
  mprContainer.hidden = true;
  const stage = h('div', { class: 'stage' }, element, ...Object.values(overlay), mprContainer);
  const measurements = h('ol', { class: 'measurements', 'aria-label': t('measurements') });
  const toolbar = h('div', { class: 'tools', role: 'toolbar' });
  const help = shortcutsHelp();
  const reportPanel = h('aside', { class: 'report-panel', 'aria-label': rt('report') });
  const fold = reportFold(reportPanel);
  root.replaceChildren(
    h(
      'main',
      { class: 'reading-page' },
      h(
        'aside',
        { class: 'side' },
        h('a', { href: '/', class: 'back', onclick: (e: Event) => (e.preventDefault(), go('/')) }, t('backToWorklist')),
        h('h2', {}, t('series')),
        seriesList,
        h('h2', {}, t('measurements')),
        measurements,
      ),
      h('section', { class: 'reader' }, toolbar, status, stage),
      reportPanel,
      help,
    ),
  );

  /** Annotations drawn to the end (their tool's completed event). */
  const completedAnnotations = new Set<string>();
  const probe: ReadingProbe = {
    renders: 0,
    imageIndex: 0,
    imageCount: 0,
    rendering: 'webgl',
    mpr: { open: false, renders: {} },
    imageToClient: () => undefined,
    cachedCount: () => (current ? current.imageIds.filter((id) => cache.isLoaded(id)).length : 0),
    annotationHandles: () =>
      annotation.state.getAllAnnotations().map((a) => {
        const imageId = viewport.getCurrentImageId();
        const points = (a.data.handles?.points ?? []).map((p) => utilities.worldToImageCoords(imageId, p) as [number, number]);
        return { tool: a.metadata?.toolName ?? '', points };
      }),
    measurements: () => {
      const handles = probe.annotationHandles();
      return annotation.state.getAllAnnotations().map((a, index) => {
        const stats = Object.values((a.data as { cachedStats?: Record<string, StatsEntry> }).cachedStats ?? {})[0];
        const picked: StatsEntry = {};
        for (const key of STATS_KEYS) {
          const value = stats?.[key];
          if (value !== undefined) (picked as Record<string, unknown>)[key] = value;
        }
        const settled = completedAnnotations.has(a.annotationUID ?? '') && !a.invalidated && stats !== undefined;
        return { ...handles[index], stats: stats ? picked : undefined, settled };
      });
    },
  };
  window.astreinteReading = probe;

  const cleanups: (() => void)[] = [];
  const cleanup = (): void => {
    for (const fn of cleanups.splice(0).reverse()) fn();
  };
  // The report is written beside the images: it loads on its own, whatever the images do.
  const session = currentSession();
  if (session) {
    const leaveReport = renderReportPanel(reportPanel, study, session, fold);
    cleanups.push(() => void leaveReport.then((leave) => leave()));
  } else {
    reportPanel.hidden = true;
  }

  // Cornerstone starts (decode workers, tools, rendering engine) while the series are asked for, unless the
  // worklist did it already.
  const cornerstoneReady = warmUpReading();
  cornerstoneReady.catch(() => undefined);
  let seriesJson: DicomJson[];
  try {
    seriesJson = await jsonFetchedAhead<DicomJson[]>(seriesSearchPath(study)).answer;
  } catch (error) {
    showRefusal(status, stage, error);
    return cleanup;
  }
  const series = seriesEntries(seriesJson);
  if (seriesJson.length === 0) {
    // A search answers an empty list, not 404, for a study one may not see: the same words as a refusal.
    showRefusal(status, stage, new ApiError(404, t('notYours')));
    return cleanup;
  }
  if (series.length === 0) {
    status.textContent = t('noImages');
    return cleanup;
  }

  await cornerstoneReady;
  const cpu = getShouldUseCPURendering();
  probe.rendering = cpu ? 'cpu' : 'webgl';
  element.dataset.rendering = probe.rendering;
  const engine = readingEngine();
  cleanups.push(() => engine.disableElement(VIEWPORT_ID));
  engine.enableElement({
    viewportId: VIEWPORT_ID,
    type: Enums.ViewportType.STACK,
    element,
    defaultOptions: { background: [0, 0, 0] as Types.Point3 },
  });
  const viewport = engine.getViewport(VIEWPORT_ID) as StackViewport;
  // The stage changes size after the viewport is enabled (the toolbar wraps, the report panel arrives, the
  // window is resized): the canvas must follow, else the image is drawn stretched while the mouse, the tools and
  // their drawings keep the first size's geometry (an ellipse drawn on the ventricles shows lower down).
  let resizeFrame: number | undefined;
  const resizeObserver = new ResizeObserver(() => {
    if (resizeFrame !== undefined) cancelAnimationFrame(resizeFrame);
    resizeFrame = requestAnimationFrame(() => {
      resizeFrame = undefined;
      engine.resize(true, true);
    });
  });
  resizeObserver.observe(element);
  cleanups.push(() => {
    resizeObserver.disconnect();
    if (resizeFrame !== undefined) cancelAnimationFrame(resizeFrame);
  });

  const toolGroup = ToolGroupManager.createToolGroup(TOOL_GROUP_ID)!;
  cleanups.push(() => ToolGroupManager.destroyToolGroup(TOOL_GROUP_ID));
  for (const { toolName } of Object.values(PRIMARY_TOOLS)) toolGroup.addTool(toolName);
  toolGroup.addTool(StackScrollTool.toolName);
  toolGroup.addTool(ReferenceLinesTool.toolName);
  toolGroup.addViewport(VIEWPORT_ID, RENDERING_ENGINE_ID);
  const { MouseBindings } = ToolEnums;
  const setPrimary = (tool: PrimaryTool): void => {
    for (const [name, entry] of Object.entries(PRIMARY_TOOLS)) {
      if (name === 'pan' || name === 'zoom') continue;
      if (name === tool) toolGroup.setToolActive(entry.toolName, { bindings: [{ mouseButton: MouseBindings.Primary }] });
      else toolGroup.setToolPassive(entry.toolName);
    }
    // Middle button pans and right button zooms whatever the left button does (OHIF's defaults).
    toolGroup.setToolActive(PanTool.toolName, {
      bindings: [{ mouseButton: MouseBindings.Auxiliary }, ...(tool === 'pan' ? [{ mouseButton: MouseBindings.Primary }] : [])],
    });
    toolGroup.setToolActive(ZoomTool.toolName, {
      bindings: [{ mouseButton: MouseBindings.Secondary }, ...(tool === 'zoom' ? [{ mouseButton: MouseBindings.Primary }] : [])],
    });
    for (const button of toolbar.querySelectorAll<HTMLButtonElement>('button[data-tool]')) {
      button.setAttribute('aria-pressed', String(button.dataset.tool === tool));
    }
  };
  toolGroup.setToolActive(StackScrollTool.toolName, { bindings: [{ mouseButton: MouseBindings.Wheel }] });
  toolbar.append(
    toolButtonGroup(
      'toolbarTools',
      (Object.entries(PRIMARY_TOOLS) as [PrimaryTool, (typeof PRIMARY_TOOLS)[PrimaryTool]][]).map(([name, entry]) =>
        h('button', { 'data-tool': name, title: `${t(entry.label)} (${entry.key.toUpperCase()})`, onclick: () => setPrimary(name) }, t(entry.label)),
      ),
    ),
  );
  setPrimary('window');

  let studyAttributes: DicomJson = {};
  let playing = false;
  let current: { entry: SeriesEntry; imageIds: string[] } | undefined;
  let closeMpr: (() => void) | undefined;
  const toggleMpr = async (): Promise<void> => {
    if (closeMpr) {
      closeMpr();
      closeMpr = undefined;
      probe.mpr.open = false;
      for (const part of [element, ...Object.values(overlay)]) part.hidden = false;
      return;
    }
    if (cpu) {
      status.textContent = t('mprNeedsWebgl');
      return;
    }
    if (!current || current.entry.modality !== 'CT' || current.imageIds.length < 3) {
      status.textContent = t('mprCtOnly');
      return;
    }
    for (const part of [element, ...Object.values(overlay)]) part.hidden = true;
    probe.mpr = { open: true, renders: {} };
    closeMpr = await openMpr(engine, mprContainer, current.entry.uid, current.imageIds);
    for (const id of MPR_VIEWPORTS) {
      mprContainer.querySelector(`[data-viewport="${id}"]`)?.addEventListener(Enums.Events.IMAGE_RENDERED, () => {
        probe.mpr.renders[id] = (probe.mpr.renders[id] ?? 0) + 1;
      });
    }
  };
  cleanups.push(() => closeMpr?.());

  const priorElement = h('div', { class: 'viewport prior', 'data-viewport': PRIOR_VIEWPORT_ID });
  const priorLabel = h('div', { class: 'overlay prior-label' });
  priorElement.hidden = true;
  priorLabel.hidden = true;
  stage.append(priorElement, priorLabel);
  let closePrior: (() => void) | undefined;
  const togglePrior = async (): Promise<void> => {
    if (closePrior) {
      closePrior();
      closePrior = undefined;
      return;
    }
    const patientId = text(studyAttributes, TAGS.patientId);
    let studies: DicomJson[];
    try {
      studies = patientId ? await patientStudies(patientId) : [];
    } catch (error) {
      status.textContent = `${t('priorSearchFailed')} ${(error as Error).message}`;
      return;
    }
    const prior = studies
      .filter((s) => text(s, TAGS.studyInstanceUid) !== study)
      .sort((a, b) => `${text(b, TAGS.studyDate)}${text(b, TAGS.studyTime)}`.localeCompare(`${text(a, TAGS.studyDate)}${text(a, TAGS.studyTime)}`))[0];
    if (!prior) {
      status.textContent = t('noPrior');
      return;
    }
    const priorStudy = text(prior, TAGS.studyInstanceUid);
    const priorSeries = seriesEntries(await apiJson<DicomJson[]>(`/dicomweb/studies/${priorStudy}/series?includefield=00201209`));
    const match = priorSeries.find((s) => s.modality === current?.entry.modality) ?? priorSeries[0];
    if (!match) {
      status.textContent = t('noPrior');
      return;
    }
    const { imageIds } = registerSeries(priorStudy, match.uid, await apiJson<DicomJson[]>(`/dicomweb/studies/${priorStudy}/series/${match.uid}/metadata`));
    stage.classList.add('split');
    priorElement.hidden = false;
    priorLabel.hidden = false;
    priorLabel.textContent = `${t('prior')} ${dicomDate(text(prior, TAGS.studyDate))} ${text(prior, TAGS.studyDescription)}`;
    engine.enableElement({ viewportId: PRIOR_VIEWPORT_ID, type: Enums.ViewportType.STACK, element: priorElement, defaultOptions: { background: [0, 0, 0] as Types.Point3 } });
    engine.resize(true, false);
    const priorViewport = engine.getViewport(PRIOR_VIEWPORT_ID) as StackViewport;
    priorElement.addEventListener(Enums.Events.IMAGE_RENDERED, () => {
      probe.prior = { study: priorStudy, renders: (probe.prior?.renders ?? 0) + 1, imageIndex: priorViewport.getCurrentImageIdIndex() };
    });
    toolGroup.addViewport(PRIOR_VIEWPORT_ID, RENDERING_ENGINE_ID);
    await priorViewport.setStack(imageIds, Math.min(viewport.getCurrentImageIdIndex(), imageIds.length - 1));
    // Scrolling the study scrolls the prior by as many slices, keeping the offset they had when the prior opened
    // (two studies have two frames of reference: positions do not compare). The reader realigns by scrolling the
    // prior alone with the wheel. Reference lines show where the main slice cuts the prior when planes differ.
    const offset = priorViewport.getCurrentImageIdIndex() - viewport.getCurrentImageIdIndex();
    const follow = (): void => {
      const target = Math.max(0, Math.min(imageIds.length - 1, viewport.getCurrentImageIdIndex() + offset));
      if (target !== priorViewport.getCurrentImageIdIndex()) void priorViewport.setImageIdIndex(target);
    };
    element.addEventListener(Enums.Events.STACK_NEW_IMAGE, follow);
    toolGroup.setToolConfiguration(ReferenceLinesTool.toolName, { sourceViewportId: VIEWPORT_ID });
    toolGroup.setToolEnabled(ReferenceLinesTool.toolName);
    priorViewport.render();
    closePrior = () => {
      toolGroup.setToolDisabled(ReferenceLinesTool.toolName);
      element.removeEventListener(Enums.Events.STACK_NEW_IMAGE, follow);
      toolGroup.removeViewports(RENDERING_ENGINE_ID, PRIOR_VIEWPORT_ID);
      engine.disableElement(PRIOR_VIEWPORT_ID);
      stage.classList.remove('split');
      priorElement.hidden = true;
      priorLabel.hidden = true;
      probe.prior = undefined;
      engine.resize(true, false);
    };
  };
  cleanups.push(() => closePrior?.());
  let instancesOfSeries: DicomJson[] = [];

  const applyPreset = (index: number): void => {
    const preset = PRESETS[index];
    if (!preset) return;
    // PS3.3 C.11.2.1.2.1 (linear): the same convention as the image's own Window Center/Width.
    viewport.setProperties({ voiRange: utilities.windowLevel.toLowHighRange(preset.width, preset.center) });
    viewport.render();
    status.textContent = `${t(preset.label)} ${preset.width}/${preset.center}`;
  };
  const actions: Record<string, () => void> = {
    invert: () => {
      viewport.setProperties({ invert: !viewport.getProperties().invert });
      viewport.render();
    },
    reset: () => {
      viewport.resetProperties();
      viewport.resetCamera();
      viewport.render();
    },
    flipH: () => {
      viewport.setCamera({ flipHorizontal: !viewport.getCamera().flipHorizontal });
      viewport.render();
    },
    flipV: () => {
      viewport.setCamera({ flipVertical: !viewport.getCamera().flipVertical });
      viewport.render();
    },
    rotate: () => {
      const { rotation = 0 } = viewport.getViewPresentation();
      viewport.setViewPresentation({ rotation: (rotation + 90) % 360 });
      viewport.render();
    },
    cine: () => {
      playing = !playing;
      if (playing) toolUtilities.cine.playClip(element, { framesPerSecond: 15, loop: true });
      else toolUtilities.cine.stopClip(element);
    },
    mpr: () => void toggleMpr().catch((error: Error) => (status.textContent = labelValue(t('loadFailed'), error.message))),
    prior: () => void togglePrior().catch((error: Error) => (status.textContent = labelValue(t('loadFailed'), error.message))),
  };
  /** `short`: what the button shows when its full label (its title and accessible name) is too wide for the toolbar. */
  const actionButton = (name: keyof typeof actions, label: MessageKey, key: string, short?: string): HTMLElement =>
    h('button', { 'data-action': name, title: `${t(label)} (${key})`, 'aria-label': short ? t(label) : undefined, onclick: () => actions[name]() }, short ?? t(label));
  toolbar.append(
    toolButtonGroup('toolbarModes', [actionButton('cine', 'cine', 'C'), actionButton('mpr', 'mpr', 'M'), actionButton('prior', 'prior', 'P')]),
    toolButtonGroup('toolbarView', [
      actionButton('invert', 'invert', 'I'),
      actionButton('reset', 'reset', t('keySpace'), t('resetShort')),
      actionButton('flipH', 'flipH', 'H', '⇆'),
      actionButton('flipV', 'flipV', 'V', '⇅'),
      actionButton('rotate', 'rotate', 'R', '↻ 90°'),
    ]),
    toolButtonGroup(
      'toolbarPresets',
      PRESETS.map((preset, index) =>
        h(
          'button',
          { 'data-preset': String(index + 1), title: `${t(preset.label)} ${preset.width}/${preset.center} (${index + 1})`, 'aria-label': `${index + 1} ${t(preset.label)}`, onclick: () => applyPreset(index) },
          h('span', { class: 'preset-key' }, String(index + 1)),
          h('span', { class: 'preset-label' }, ` ${t(preset.short)}`),
        ),
      ),
    ),
    h('button', { class: 'help-button', title: `${t('shortcuts')} (?)`, onclick: () => (help.hidden = !help.hidden) }, '?'),
  );

  const scrollBy = (delta: number): void => {
    utilities.scroll(viewport, { delta });
  };

  const updateOverlay = (): void => {
    const imageId = viewport.getCurrentImageId();
    const index = viewport.getCurrentImageIdIndex();
    const count = viewport.getImageIds().length;
    const voi = viewport.getProperties().voiRange;
    probe.imageIndex = index;
    probe.imageCount = count;
    const window = voi ? utilities.windowLevel.toWindowLevel(voi.lower, voi.upper) : undefined;
    probe.window = window ? { width: Math.round(window.windowWidth), center: Math.round(window.windowCenter) } : undefined;
    const instance = instancesOfSeries[index] ?? {};
    probe.sopInstanceUid = text(instance, TAGS.sopInstanceUid) || undefined;
    const age = text(studyAttributes, TAGS.patientAge);
    overlay.topLeft.replaceChildren(
      line(personName(text(studyAttributes, TAGS.patientName))),
      line(`ID ${text(studyAttributes, TAGS.patientId)}`),
      line([age ? formatAge(age) : '', text(studyAttributes, TAGS.patientSex)].filter(Boolean).join(' · ')),
    );
    overlay.topRight.replaceChildren(
      line(text(studyAttributes, TAGS.institutionName)),
      line(`${dicomDate(text(studyAttributes, TAGS.studyDate))} ${dicomTime(text(studyAttributes, TAGS.studyTime))}`),
      line(text(studyAttributes, TAGS.studyDescription)),
    );
    const plane = imageId ? metaData.get('imagePlaneModule', imageId) as { sliceLocation?: number; imagePositionPatient?: number[] } | undefined : undefined;
    const position = plane?.sliceLocation ?? number(instance, TAGS.sliceLocation);
    overlay.bottomLeft.replaceChildren(
      line(`${t('seriesNumber')} ${text(instance, TAGS.seriesNumber) || '?'} ${text(instance, TAGS.seriesDescription)}`),
      line(`${t('slice')} ${index + 1}/${count}${position !== undefined ? ` · ${position.toFixed(1)} mm` : ''}`),
    );
    overlay.bottomRight.replaceChildren(
      line(probe.window ? `W ${probe.window.width} L ${probe.window.center}` : ''),
      line(probe.rendering === 'cpu' ? t('renderingCpu') : t('renderingGpu')),
    );
    const camera = viewport.getCamera();
    const markers = camera.viewUp && camera.viewPlaneNormal ? orientationMarkers(camera.viewUp, camera.viewPlaneNormal) : { left: '', right: '', top: '', bottom: '' };
    overlay.left.textContent = markers.left;
    overlay.right.textContent = markers.right;
    overlay.top.textContent = markers.top;
    overlay.bottom.textContent = markers.bottom;
  };

  const onRendered = (): void => {
    // Only renders that show a loaded image count (not the empty render of a viewport just enabled, nor one of a
    // resize before the stack is set), as OHIF's STUDY_TO_FIRST_IMAGE skips preRender events.
    const shown = viewport.getCurrentImageId();
    if (current && shown && cache.isLoaded(shown)) {
      probe.renders += 1;
      element.dataset.renders = String(probe.renders);
      if (probe.firstImageMs === undefined && probe.metadataRequestedAt !== undefined) {
        probe.firstImageMs = performance.now() - probe.metadataRequestedAt;
      }
    }
    updateOverlay();
  };
  element.addEventListener(Enums.Events.IMAGE_RENDERED, onRendered);
  element.addEventListener(Enums.Events.VOI_MODIFIED, updateOverlay);
  element.addEventListener(Enums.Events.STACK_NEW_IMAGE, updateOverlay);

  const listMeasurements = (): void => {
    const items = annotation.state.getAllAnnotations().map((a) => measurementText(a.metadata?.toolName ?? '', a.data as { cachedStats?: Record<string, StatsEntry> }));
    measurements.replaceChildren(...items.filter((s): s is string => Boolean(s)).map((s) => h('li', { class: 'measurement' }, s)));
  };
  const measurementEvents = [ToolEnums.Events.ANNOTATION_COMPLETED, ToolEnums.Events.ANNOTATION_MODIFIED, ToolEnums.Events.ANNOTATION_REMOVED];
  for (const name of measurementEvents) eventTarget.addEventListener(name, listMeasurements);
  const noteCompleted = (event: Event): void => {
    const uid = (event as CustomEvent<{ annotation?: { annotationUID?: string } }>).detail.annotation?.annotationUID;
    if (uid) completedAnnotations.add(uid);
  };
  eventTarget.addEventListener(ToolEnums.Events.ANNOTATION_COMPLETED, noteCompleted);
  cleanups.push(() => eventTarget.removeEventListener(ToolEnums.Events.ANNOTATION_COMPLETED, noteCompleted));
  // Statistics are recomputed when annotations are drawn, after the completed event: list them again then.
  element.addEventListener(ToolEnums.Events.ANNOTATION_RENDERED, listMeasurements);
  cleanups.push(() => {
    for (const name of measurementEvents) eventTarget.removeEventListener(name, listMeasurements);
    annotation.state.removeAllAnnotations();
  });

  probe.imageToClient = (column, row) => {
    const imageId = viewport.getCurrentImageId();
    if (!imageId) return undefined;
    const world = utilities.imageToWorldCoords(imageId, [column, row]);
    if (!world) return undefined;
    const canvas = viewport.worldToCanvas(world);
    const box = element.getBoundingClientRect();
    return [box.left + canvas[0], box.top + canvas[1]];
  };

  let seriesLoad: SeriesPixelLoad | undefined;
  cleanups.push(() => {
    seriesLoad?.cancel();
    seriesLoad = undefined;
  });
  const openSeries = async (entry: SeriesEntry): Promise<void> => {
    probe.seriesUid = entry.uid;
    probe.firstImageMs = undefined;
    for (const item of seriesList.querySelectorAll('li')) item.classList.toggle('current', item.dataset.series === entry.uid);
    status.textContent = '';
    let instances: DicomJson[];
    try {
      // Asked for on the worklist already when the reader pointed at the study: then timed from that request.
      const fetched = jsonFetchedAhead<DicomJson[]>(metadataPath(study, entry.uid));
      probe.metadataRequestedAt = fetched.requestedAt;
      instances = await fetched.answer;
    } catch (error) {
      showRefusal(status, stage, error);
      return;
    }
    const { imageIds, perImage } = registerSeries(study, entry.uid, instances);
    instancesOfSeries = perImage;
    current = { entry, imageIds };
    studyAttributes = instances[0] ?? {};
    await viewport.setStack(imageIds, Math.floor(imageIds.length / 2));
    // The whole series in one request (a 300-slice CT then scrolls end to end without waiting); whatever it did
    // not bring (an older gateway, a frame that failed) Cornerstone then asks for slice by slice, nearest first.
    seriesLoad?.cancel();
    const load = loadSeriesPixels(study, entry.uid, imageIds);
    seriesLoad = load;
    probe.streamedFrames = undefined;
    void load.done
      .then((frames) => {
        if (seriesLoad === load) probe.streamedFrames = frames;
      })
      .catch(() => undefined)
      .then(() => {
        if (seriesLoad === load && element.isConnected) toolUtilities.stackPrefetch.enable(element);
      });
    viewport.render();
  };

  for (const entry of series) {
    const thumb = h('img', { class: 'thumb', alt: '', width: 96, height: 96 });
    void authorizedImageUrl(`/dicomweb/studies/${study}/series/${entry.uid}/thumbnail?viewport=96,96`).then((url) => {
      if (url) thumb.src = url;
      else thumb.replaceWith(h('span', { class: 'thumb thumb-missing' }, entry.modality));
    });
    seriesList.append(
      h(
        'li',
        { 'data-series': entry.uid },
        h(
          'button',
          { class: 'series', onclick: () => void openSeries(entry) },
          thumb,
          h('span', {}, `${entry.modality} ${entry.number} ${entry.description}`.trim()),
          h('span', { class: 'detail' }, `${entry.count} images`),
        ),
      ),
    );
  }

  const onKey = (event: KeyboardEvent): void => {
    // Typing in the report (or any field) is text, not shortcuts; Ctrl/⌘ combinations belong to the report and the browser.
    const target = event.target;
    if (target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement) return;
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const key = event.key;
    const presetIndex = '1234567'.indexOf(key);
    if (presetIndex >= 0 && key !== '') applyPreset(presetIndex);
    else if (key === 'ArrowDown' || key === 'PageDown') scrollBy(1);
    else if (key === 'ArrowUp' || key === 'PageUp') scrollBy(-1);
    else if (key === 'Home') void viewport.setImageIdIndex(0);
    else if (key === 'End') void viewport.setImageIdIndex(viewport.getImageIds().length - 1);
    else if (key === 'i') actions.invert();
    else if (key === ' ') actions.reset();
    else if (key === 'h') actions.flipH();
    else if (key === 'v') actions.flipV();
    else if (key === 'r') actions.rotate();
    else if (key === 'c') actions.cine();
    else if (key === 'm') actions.mpr();
    else if (key === 'p') actions.prior();
    else if (key === REPORT_FOLD_KEY && !reportPanel.hidden) fold.set(!fold.folded());
    else if (key === '?') help.hidden = !help.hidden;
    else if (key === 'Escape') help.hidden = true;
    else {
      const tool = (Object.entries(PRIMARY_TOOLS) as [PrimaryTool, { key: string }][]).find(([, entry]) => entry.key === key)?.[0];
      if (!tool) return;
      setPrimary(tool);
    }
    event.preventDefault();
  };
  document.addEventListener('keydown', onKey);
  cleanups.push(() => document.removeEventListener('keydown', onKey));
  cleanups.push(() => {
    try {
      toolUtilities.cine.stopClip(element);
    } catch {
      // no clip playing
    }
  });

  await openSeries(series[0]);
  return cleanup;
}

/** Registers each frame's metadata with the image loader (before any frame loads) and returns the image ids in slice order. */
function registerSeries(study: string, seriesUid: string, instances: DicomJson[]): { imageIds: string[]; perImage: DicomJson[] } {
  instances.sort(byPosition);
  const imageIds: string[] = [];
  const perImage: DicomJson[] = [];
  for (const instance of instances) {
    const sop = text(instance, TAGS.sopInstanceUid);
    const frames = number(instance, TAGS.numberOfFrames) ?? 1;
    for (let frame = 1; frame <= frames; frame++) {
      const imageId = `wadors:${DICOMWEB}/studies/${study}/series/${seriesUid}/instances/${sop}/frames/${frame}`;
      dicomImageLoader.wadors.metaDataManager.add(imageId, instance as unknown as Parameters<typeof dicomImageLoader.wadors.metaDataManager.add>[1]);
      imageIds.push(imageId);
      perImage.push(instance);
    }
  }
  return { imageIds, perImage };
}

function toolButtonGroup(label: MessageKey, buttons: HTMLElement[]): HTMLElement {
  return h('div', { class: 'tool-group', role: 'group', 'aria-label': t(label) }, ...buttons);
}

function line(content: string): HTMLElement {
  return h('div', {}, content);
}

/** PS3.5 AS (`051Y`, `003W`…) in the reader's words: 51 ans, 3 semaines, 1 day. */
function formatAge(age: string): string {
  const match = /^(\d{3})([DWMY])$/.exec(age);
  if (!match) return age;
  const unit = ({ D: 'day', W: 'week', M: 'month', Y: 'year' } as const)[match[2] as 'D' | 'W' | 'M' | 'Y'];
  return new Intl.NumberFormat(language(), { style: 'unit', unit, unitDisplay: 'long' }).format(Number(match[1]));
}

/** Slices in the order of their position along the normal, else by instance number. */
function byPosition(a: DicomJson, b: DicomJson): number {
  const pa = a[TAGS.imagePositionPatient]?.Value as number[] | undefined;
  const pb = b[TAGS.imagePositionPatient]?.Value as number[] | undefined;
  const orientation = a[TAGS.imageOrientationPatient]?.Value as number[] | undefined;
  if (pa?.length === 3 && pb?.length === 3 && orientation?.length === 6) {
    const [r1, r2, r3, c1, c2, c3] = orientation;
    const normal = [r2 * c3 - r3 * c2, r3 * c1 - r1 * c3, r1 * c2 - r2 * c1];
    const da = pa[0] * normal[0] + pa[1] * normal[1] + pa[2] * normal[2];
    const db = pb[0] * normal[0] + pb[1] * normal[1] + pb[2] * normal[2];
    if (da !== db) return da - db;
  }
  return (number(a, TAGS.instanceNumber) ?? 0) - (number(b, TAGS.instanceNumber) ?? 0);
}

export interface StatsEntry {
  length?: number;
  angle?: number;
  mean?: number;
  stdDev?: number;
  min?: number;
  max?: number;
  area?: number;
  unit?: string;
  areaUnit?: string;
  modalityUnit?: string;
}

/** The plain values of a tool's statistics (its cachedStats also hold arrays of points, not for a probe). */
const STATS_KEYS: readonly (keyof StatsEntry)[] = ['length', 'angle', 'mean', 'stdDev', 'min', 'max', 'area', 'unit', 'areaUnit', 'modalityUnit'];

function measurementText(toolName: string, data: { cachedStats?: Record<string, StatsEntry> }): string | undefined {
  const stats = Object.values(data.cachedStats ?? {})[0];
  if (!stats) return undefined;
  const fixed = (value: number | undefined, digits = 1) => (value === undefined || !Number.isFinite(value) ? '—' : value.toFixed(digits));
  switch (toolName) {
    case LengthTool.toolName:
      return labelValue(t('length'), `${fixed(stats.length)} ${stats.unit ?? 'mm'}`);
    case AngleTool.toolName:
      return labelValue(t('angle'), `${fixed(stats.angle)}°`);
    case EllipticalROITool.toolName:
    case RectangleROITool.toolName: {
      const label = toolName === EllipticalROITool.toolName ? t('ellipse') : t('rectangle');
      const unit = stats.modalityUnit ?? '';
      return labelValue(label, `${t('mean')} ${fixed(stats.mean)} ${unit}, σ ${fixed(stats.stdDev)} ${unit}, ${fixed(stats.area)} ${stats.areaUnit ?? 'mm²'}`);
    }
    default:
      return undefined;
  }
}

function showRefusal(status: HTMLElement, stage: HTMLElement, error: unknown): void {
  const refused = error instanceof ApiError && (error.status === 404 || error.status === 403);
  const message = refused ? (error.status === 404 ? t('notYours') : t('notAllowed')) : labelValue(t('loadFailed'), (error as Error).message);
  status.textContent = '';
  stage.replaceChildren(h('p', { class: 'refusal', role: 'alert' }, message));
}

function shortcutsHelp(): HTMLElement {
  const rows: [string, string][] = [
    ['1–7', PRESETS.map((p) => `${t(p.label)} ${p.width}/${p.center}`).join(' · ')],
    [`↑ ↓ PgUp PgDn, ${t('keyWheel')}`, t('slice')],
    ['Home / End', `${t('slice')} 1 / N`],
    ...(Object.values(PRIMARY_TOOLS).map((entry) => [entry.key.toUpperCase(), t(entry.label)]) as [string, string][]),
    ['I', t('invert')],
    [t('keySpace'), t('reset')],
    ['H / V', `${t('flipH')} / ${t('flipV')}`],
    ['R', t('rotate')],
    ['C', t('cine')],
    ['M', t('mpr')],
    ['P', t('prior')],
    [REPORT_FOLD_KEY.toUpperCase(), `${rt('hideReport')} / ${rt('showReport')}`],
    [`Ctrl + ${t('keyEnter')}`, rt('signReport')],
    ['?', t('shortcuts')],
  ];
  const panel = h(
    'div',
    { class: 'help', role: 'dialog', 'aria-label': t('shortcuts') },
    h('h2', {}, t('shortcuts')),
    h('table', {}, h('tbody', {}, ...rows.map(([key, what]) => h('tr', {}, h('th', {}, h('kbd', {}, key)), h('td', {}, what))))),
    h('p', {}, t('mouseHelp')),
  );
  panel.append(h('button', { onclick: () => (panel.hidden = true) }, t('close')));
  panel.hidden = true;
  return panel;
}

/** The patient's studies this user may see (QIDO answers 204 when none); a transient refusal is tried once more. */
async function patientStudies(patientId: string): Promise<DicomJson[]> {
  const path = `/dicomweb/studies?PatientID=${encodeURIComponent(patientId)}&includefield=00081030`;
  for (let attempt = 1; ; attempt++) {
    const res = await apiFetch(path, { headers: { Accept: 'application/dicom+json' } });
    if (res.status === 204) return [];
    if (res.ok) return (await res.json()) as DicomJson[];
    if (attempt >= 2 || (res.status !== 503 && res.status !== 429)) throw new ApiError(res.status, await problemDetail(res));
    const wait = Math.min(Number(res.headers.get('retry-after')) || 1, 3);
    await new Promise((resolve) => setTimeout(resolve, wait * 1000));
  }
}
