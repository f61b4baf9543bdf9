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
  await expect.poll(() => measurementTexts(page)).toContainEqual(`Angle : ${angle.stats.angle!.toFixed(1)}°`);
  return angle;
}

/** Ellipse (E): from its centre outwards, inside the ventricles (10 HU in the phantom); its mean is the file's. */
export async function measureEllipse(page: DrawingPage, image: HuImage): Promise<Measurement> {
  await chooseTool(page, 'e', 'ellipse');
  await dragWithMouse(page, await imageToClient(page, 64.5, 64.5), await imageToClient(page, 70.5, 70.5));
  const ellipse = await settledMeasurement(page, 'EllipticalROI', 'mean');
  const truth = ellipseTruth(image, ellipse.points);
  expect(truth.rx).toBeGreaterThan(4);
  expect(ellipse.stats.modalityUnit).toBe('HU');
  expect(Math.abs(ellipse.stats.mean! - truth.mean), `ellipse mean ${ellipse.stats.mean} HU vs ${truth.mean} over ${truth.count} pixels of the file`).toBeLessThan(1.5);
  expect(Math.abs(ellipse.stats.mean! - 10), 'the ventricles are 10 HU').toBeLessThan(4);
  await expect
    .poll(() => measurementTexts(page))
    .toContainEqual(`Ellipse : moy. ${ellipse.stats.mean!.toFixed(1)} HU, σ ${ellipse.stats.stdDev!.toFixed(1)} HU, ${ellipse.stats.area!.toFixed(1)} mm²`);
  return ellipse;
}

/**
 * Rectangle (B): corner to corner, in the brain (35 HU), away from the ventricles and the skull; its mean is the
 * file's, its area that of its handles.
 */
export async function measureRectangle(page: DrawingPage, image: HuImage): Promise<Measurement> {
  await chooseTool(page, 'b', 'rectangle');
  await dragWithMouse(page, await imageToClient(page, 38, 76), await imageToClient(page, 52, 90));
  const rectangle = await settledMeasurement(page, 'RectangleROI', 'mean');
  const truth = rectangleTruth(image, rectangle.points);
  expect(truth.x1 - truth.x0).toBeGreaterThan(10);
  expect(rectangle.stats.modalityUnit).toBe('HU');
  expect(Math.abs(rectangle.stats.mean! - truth.mean), `rectangle mean ${rectangle.stats.mean} HU vs ${truth.mean} over ${truth.count} pixels of the file`).toBeLessThan(1.5);
  expect(Math.abs(rectangle.stats.mean! - 35), 'the brain is 35 HU').toBeLessThan(4);
  // Stored values are about 2 × 1059 there: only slope and intercept together give HU.
  expect(truth.storedMean).toBeGreaterThan(2000);
  const [rowSpacing, columnSpacing] = image.pixelSpacing;
  const handlesArea = (truth.x1 - truth.x0) * (truth.y1 - truth.y0) * rowSpacing * columnSpacing;
  expect(Math.abs(rectangle.stats.area! - handlesArea) / handlesArea, `area ${rectangle.stats.area} ${rectangle.stats.areaUnit} vs ${handlesArea} mm² (${JSON.stringify(rectangle)})`).toBeLessThan(0.02);
  await expect
    .poll(() => measurementTexts(page))
    .toContainEqual(`Rectangle : moy. ${rectangle.stats.mean!.toFixed(1)} HU, σ ${rectangle.stats.stdDev!.toFixed(1)} HU, ${rectangle.stats.area!.toFixed(1)} mm²`);
  return rectangle;
}
