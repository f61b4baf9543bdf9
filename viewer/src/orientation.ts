type Vector = readonly number[];

/**
 * Letters at the viewport's edges from the camera (patient coordinates LPS): the screen's right is
 * viewUp x viewPlaneNormal, so flips and rotations move the letters with the image. R/L, A/P, H/F as on the
 * films (H: head, F: feet).
 */
export function orientationMarkers(viewUp: Vector, viewPlaneNormal: Vector): { left: string; right: string; top: string; bottom: string } {
  const right = cross(viewUp, viewPlaneNormal);
  const negate = (v: Vector) => v.map((x) => -x);
  return { right: letters(right), left: letters(negate(right)), top: letters(viewUp), bottom: letters(negate(viewUp)) };
}

function cross(a: Vector, b: Vector): number[] {
  return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
}

/** The one or two axes the direction mostly points along, strongest first. */
function letters(v: Vector): string {
  const axes = [
    { size: Math.abs(v[0]), letter: v[0] > 0 ? 'L' : 'R' },
    { size: Math.abs(v[1]), letter: v[1] > 0 ? 'P' : 'A' },
    { size: Math.abs(v[2]), letter: v[2] > 0 ? 'H' : 'F' },
  ].sort((a, b) => b.size - a.size);
  return axes
    .filter((axis, index) => axis.size > 0.25 && index < 2)
    .map((axis) => axis.letter)
    .join('');
}
