/**
 * The angle, ellipse and rectangle tools drawn with the mouse on the reading page of a head CT (ct-truth.ts), and
 * what they must say, for the browser tests (Chromium through Playwright, Firefox through Puppeteer alike).
 */
import { expect } from 'vitest';
import { dragWithMouse, imageToClient, settledMeasurement, type Measurement, type MousePage } from './browser.ts';
import { angleOfHandles, ellipseTruth, rectangleTruth, type HuImage } from './ct-truth.ts';

/** A page the keyboard and the mouse drive: Playwright's and Puppeteer's both fit. */
export interface DrawingPage extends MousePage {
  keyboard: { press(key: string): Promise<void> };
}

/** The measurements listed beside the image, as shown. */
export async function measurementTexts(page: DrawingPage): Promise<string[]> {
  return (await page.evaluate(`[...document.querySelectorAll('.measurement')].map((item) => item.textContent)`)) as string[];
}

/** Chooses a tool by its key and waits for its button to say so. */
export async function chooseTool(page: DrawingPage, key: string, tool: string): Promise<void> {
  await page.keyboard.press(key);
  await expect.poll(() => page.evaluate(`document.querySelector('button[data-tool="${tool}"]').getAttribute('aria-pressed')`)).toBe('true');
}

/**
 * Angle (A): presses on `a`, drags to the vertex `b`, releases, moves to `c` and clicks (image coordinates). The
 * angle is the one of its handles, within 2° of `degrees` (where the mouse lands is rounded).
 */
export async function measureAngle(page: DrawingPage, [a, b, c]: [number, number][], degrees: number): Promise<Measurement> {
  await chooseTool(page, 'a', 'angle');
  const [ca, cb, cc] = [await imageToClient(page, ...a), await imageToClient(page, ...b), await imageToClient(page, ...c)];
  await dragWithMouse(page, ca, cb);
  await page.mouse.move(...cc, { steps: 8 });
  await page.mouse.down();
  await page.mouse.up();
  const angle = await settledMeasurement(page, 'Angle', 'angle');
  const ofHandles = angleOfHandles(angle.points);
  expect(Math.abs(angle.stats.angle! - ofHandles), `angle ${angle.stats.angle} vs the handles' ${ofHandles}`).toBeLessThan(0.5);
  expect(Math.abs(angle.stats.angle! - degrees), `the angle drawn (${degrees}°)`).toBeLessThan(2);
  await expect.poll(() => measurementTexts(page)).toContainEqual(`Angle\u202f: ${angle.stats.angle!.toFixed(1)}°`);
  return angle;
}

/** The ROI tools: their key, Cornerstone's name and the word the list shows them by. */
const ROI_TOOLS = {
  ellipse: { key: 'e', toolName: 'EllipticalROI', shown: 'Ellipse' },
  rectangle: { key: 'b', toolName: 'RectangleROI', shown: 'Rectangle' },
} as const;

/**
 * A ROI dragged from `from` to `to` (image coordinates): its mean is that of the file's pixels inside its handles
 * (`truthOf`), within 4 HU of the tissue's `hu`, and the list shows its statistics.
 */
async function measureRoi<T extends { mean: number; count: number }>(
  page: DrawingPage,
  tool: keyof typeof ROI_TOOLS,
  [from, to]: [number, number][],
  truthOf: (points: [number, number][]) => T,
  tissue: { hu: number; name: string },
): Promise<{ roi: Measurement; truth: T }> {
  const { key, toolName, shown } = ROI_TOOLS[tool];
  await chooseTool(page, key, tool);
  await dragWithMouse(page, await imageToClient(page, ...from), await imageToClient(page, ...to));
  const roi = await settledMeasurement(page, toolName, 'mean');
  const truth = truthOf(roi.points);
  expect(roi.stats.modalityUnit).toBe('HU');
  expect(Math.abs(roi.stats.mean! - truth.mean), `${tool} mean ${roi.stats.mean} HU vs ${truth.mean} over ${truth.count} pixels of the file`).toBeLessThan(1.5);
  expect(Math.abs(roi.stats.mean! - tissue.hu), `the ${tissue.name} is ${tissue.hu} HU`).toBeLessThan(4);
  await expect
    .poll(() => measurementTexts(page))
    .toContainEqual(`${shown}\u202f: moy. ${roi.stats.mean!.toFixed(1)} HU, σ ${roi.stats.stdDev!.toFixed(1)} HU, ${roi.stats.area!.toFixed(1)} mm²`);
  return { roi, truth };
}

/** Ellipse (E): from its centre outwards, inside the ventricles (10 HU in the phantom). */
export async function measureEllipse(page: DrawingPage, image: HuImage): Promise<Measurement> {
  const { roi, truth } = await measureRoi(page, 'ellipse', [[64.5, 64.5], [70.5, 70.5]], (points) => ellipseTruth(image, points), { hu: 10, name: 'ventricles' });
  expect(truth.rx).toBeGreaterThan(4);
  return roi;
}

/** Rectangle (B): corner to corner, in the brain (35 HU), away from the ventricles and the skull; its area that of its handles. */
export async function measureRectangle(page: DrawingPage, image: HuImage): Promise<Measurement> {
  const { roi, truth } = await measureRoi(page, 'rectangle', [[38, 76], [52, 90]], (points) => rectangleTruth(image, points), { hu: 35, name: 'brain' });
  expect(truth.x1 - truth.x0).toBeGreaterThan(10);
  // Stored values are about 2 × 1059 there: only slope and intercept together give HU.
  expect(truth.storedMean).toBeGreaterThan(2000);
  const [rowSpacing, columnSpacing] = image.pixelSpacing;
  const handlesArea = (truth.x1 - truth.x0) * (truth.y1 - truth.y0) * rowSpacing * columnSpacing;
  expect(Math.abs(roi.stats.area! - handlesArea) / handlesArea, `area ${roi.stats.area} ${roi.stats.areaUnit} vs ${handlesArea} mm² (${JSON.stringify(roi)})`).toBeLessThan(0.02);
  return roi;
}
