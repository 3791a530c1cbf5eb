/**
 * Drawing for the synthetic re-ID set: people (identities), cameras (scenes) and one picture.
 *
 * An Identity fixes what a person looks like everywhere: build (height, width), skin, hair,
 * clothing colours and pattern, trousers/shorts/skirt, shoes, accessories (backpack, shoulder bag,
 * hat). A Camera fixes what everyone it sees shares: its background (wall texture, floor, fixed
 * objects), its lighting (colour gain, brightness, a side light) and its viewpoint (which side of
 * people it tends to see, how large and where they appear). `renderImage` paints one picture of an
 * identity in a camera into an H x W x 3 Uint8 RGB array. Cues are sized so that they survive at
 * 64 x 32 (stripes and accessories are >= 4 px wide at 128 x 64).
 *
 * confound in [0, 1] blends each camera's own background (1) with a neutral per-image background
 * (0): the higher it is, the more the background alone tells the camera, the failure mode that
 * attention without labels falls into.
 */
import { Rng } from '../../core/random.ts';

export type RGB = [number, number, number];
export type View = 'front' | 'back' | 'left' | 'right';
type Pattern = 'solid' | 'hstripes' | 'vstripes' | 'checks' | 'twotone';

export interface Identity {
  heightFrac: number; // person height / frame height
  build: number; // width factor
  skin: RGB;
  hair: RGB;
  longHair: boolean;
  top: RGB;
  top2: RGB;
  pattern: Pattern;
  stripe: number; // stripe period as a fraction of person height
  longSleeves: boolean;
  bottom: RGB;
  bottomKind: 'trousers' | 'shorts' | 'skirt';
  shoes: RGB;
  backpack: RGB | null;
  bag: RGB | null; // shoulder bag
  bagSide: 1 | -1;
  hat: RGB | null;
}

export interface Camera {
  kind: number; // background family 0..3
  wall: RGB;
  wall2: RGB;
  floor: RGB;
  horizon: number; // fraction of height
  period: number; // texture period (fraction of width)
  objects: { x: number; w: number; y0: number; y1: number; color: RGB }[];
  gain: RGB; // per-channel lighting gain
  brightness: number;
  sideLight: number; // multiplicative left-to-right gradient amplitude
  views: [View, number][]; // viewpoint distribution
  scale: number; // person size factor
  yShift: number; // vertical placement (fraction of height)
}

/** HSV (h in [0, 360)) to RGB in [0, 255]. */
export function hsv(h: number, s: number, v: number): RGB {
  const c = v * s;
  const hp = (((h % 360) + 360) % 360) / 60;
  const x = c * (1 - Math.abs((hp % 2) - 1));
  const [r, g, b] = hp < 1 ? [c, x, 0] : hp < 2 ? [x, c, 0] : hp < 3 ? [0, c, x] : hp < 4 ? [0, x, c] : hp < 5 ? [x, 0, c] : [c, 0, x];
  const m = v - c;
  return [(r + m) * 255, (g + m) * 255, (b + m) * 255];
}

/** A clothing colour: one of 12 hues or an achromatic tone, jittered. */
function clothColour(r: Rng): RGB {
  if (r.next() < 0.2) {
    const v = [0.12, 0.35, 0.6, 0.88][r.int(4)] + r.uniform(-0.05, 0.05);
    return hsv(0, 0, v);
  }
  return hsv(r.int(12) * 30 + r.uniform(-8, 8), r.uniform(0.55, 0.95), r.uniform(0.45, 0.95));
}

const SKINS: RGB[] = [[255, 219, 180], [234, 192, 150], [198, 145, 105], [141, 95, 64], [92, 60, 40]];
const HAIRS: RGB[] = [[20, 15, 12], [70, 45, 25], [130, 90, 50], [200, 170, 110], [140, 140, 140]];

export function makeIdentity(r: Rng): Identity {
  const jitter = (c: RGB, a: number): RGB => [c[0] + r.uniform(-a, a), c[1] + r.uniform(-a, a), c[2] + r.uniform(-a, a)];
  const patterns: Pattern[] = ['solid', 'solid', 'hstripes', 'vstripes', 'checks', 'twotone'];
  const bottomKinds: Identity['bottomKind'][] = ['trousers', 'trousers', 'shorts', 'skirt'];
  return {
    heightFrac: r.uniform(0.8, 0.94),
    build: r.uniform(0.85, 1.2),
    skin: jitter(SKINS[r.int(SKINS.length)], 8),
    hair: jitter(HAIRS[r.int(HAIRS.length)], 10),
    longHair: r.next() < 0.35,
    top: clothColour(r),
    top2: clothColour(r),
    pattern: patterns[r.int(patterns.length)],
    stripe: r.uniform(0.06, 0.1),
    longSleeves: r.next() < 0.5,
    bottom: clothColour(r),
    bottomKind: bottomKinds[r.int(bottomKinds.length)],
    shoes: r.next() < 0.5 ? hsv(0, 0, r.uniform(0.05, 0.3)) : clothColour(r),
    backpack: r.next() < 0.3 ? clothColour(r) : null,
    bag: r.next() < 0.25 ? clothColour(r) : null,
    bagSide: r.next() < 0.5 ? 1 : -1,
    hat: r.next() < 0.15 ? clothColour(r) : null,
  };
}

export function makeCamera(r: Rng, index: number): Camera {
  const kind = index % 4;
  const wall = hsv(r.uniform(0, 360), r.uniform(0.25, 0.7), r.uniform(0.45, 0.9));
  const wall2 = hsv(r.uniform(0, 360), r.uniform(0.2, 0.6), r.uniform(0.3, 0.8));
  const floor = hsv(r.uniform(0, 360), r.uniform(0.1, 0.4), r.uniform(0.3, 0.7));
  const objects = Array.from({ length: 1 + r.int(3) }, () => {
    const y0 = r.uniform(0.05, 0.5);
    return { x: r.uniform(0, 0.9), w: r.uniform(0.06, 0.2), y0, y1: y0 + r.uniform(0.2, 0.5), color: hsv(r.uniform(0, 360), r.uniform(0.3, 0.9), r.uniform(0.2, 0.9)) };
  });
  const all: View[] = ['front', 'back', 'left', 'right'];
  const main = all[index % 4];
  const views: [View, number][] = all.map((v) => [v, v === main ? 0.55 : 0.15]);
  return {
    kind, wall, wall2, floor,
    horizon: r.uniform(0.55, 0.8),
    period: r.uniform(0.15, 0.35),
    objects,
    gain: [r.uniform(0.8, 1.2), r.uniform(0.85, 1.15), r.uniform(0.8, 1.2)],
    brightness: r.uniform(-20, 20),
    sideLight: r.uniform(-0.25, 0.25),
    views,
    scale: r.uniform(0.9, 1.05),
    yShift: r.uniform(-0.03, 0.03),
  };
}

/** A float RGB canvas at supersampled resolution. */
class Canvas {
  readonly px: Float32Array;
  constructor(readonly w: number, readonly h: number) {
    this.px = new Float32Array(w * h * 3);
  }
  set(x: number, y: number, c: RGB): void {
    const o = (y * this.w + x) * 3;
    this.px[o] = c[0]; this.px[o + 1] = c[1]; this.px[o + 2] = c[2];
  }
  /** Fills the rows y0..y1 between a left/right edge given per row; colour may depend on (x, y). */
  fillRows(y0: number, y1: number, edges: (y: number) => [number, number], color: RGB | ((x: number, y: number) => RGB)): void {
    const ya = Math.max(0, Math.ceil(y0)), yb = Math.min(this.h - 1, Math.floor(y1));
    for (let y = ya; y <= yb; y++) {
      const [l, r] = edges(y);
      const xa = Math.max(0, Math.ceil(l)), xb = Math.min(this.w - 1, Math.floor(r));
      for (let x = xa; x <= xb; x++) this.set(x, y, typeof color === 'function' ? color(x, y) : color);
    }
  }
  rect(x0: number, y0: number, x1: number, y1: number, color: RGB | ((x: number, y: number) => RGB)): void {
    this.fillRows(Math.min(y0, y1), Math.max(y0, y1), () => [Math.min(x0, x1), Math.max(x0, x1)], color);
  }
  ellipse(cx: number, cy: number, rx: number, ry: number, color: RGB): void {
    this.fillRows(cy - ry, cy + ry, (y) => {
      const t = (y - cy) / ry;
      const half = rx * Math.sqrt(Math.max(0, 1 - t * t));
      return [cx - half, cx + half];
    }, color);
  }
  /** A limb: a band of half-width hw from (xa, ya) to (xb, yb), ya < yb. */
  limb(xa: number, ya: number, xb: number, yb: number, hw: number, color: RGB): void {
    this.fillRows(ya, yb, (y) => {
      const cx = xa + ((xb - xa) * (y - ya)) / Math.max(1e-6, yb - ya);
      return [cx - hw, cx + hw];
    }, color);
  }
}

const mix = (a: RGB, b: RGB, t: number): RGB => [a[0] * (1 - t) + b[0] * t, a[1] * (1 - t) + b[1] * t, a[2] * (1 - t) + b[2] * t];

/** The camera's own background at (u, v) in [0,1]^2. */
function cameraBackground(cam: Camera, u: number, v: number): RGB {
  if (v > cam.horizon) {
    // Floor: perspective bands.
    const band = Math.floor(((v - cam.horizon) / (1 - cam.horizon)) ** 0.6 * 6) % 2;
    return band ? cam.floor : mix(cam.floor, [0, 0, 0], 0.15);
  }
  for (const o of cam.objects) if (u >= o.x && u <= o.x + o.w && v >= o.y0 && v <= Math.min(o.y1, cam.horizon)) return o.color;
  const p = cam.period;
  switch (cam.kind) {
    case 0: { // bricks
      const row = Math.floor(v / (p * 0.5));
      const uu = u / p + (row % 2) * 0.5;
      const mortar = (v / (p * 0.5)) % 1 < 0.15 || uu % 1 < 0.08;
      return mortar ? cam.wall2 : cam.wall;
    }
    case 1: // vertical panels
      return Math.floor(u / p) % 2 ? cam.wall : cam.wall2;
    case 2: // vertical gradient with a horizontal band
      return Math.abs(v - cam.horizon * 0.5) < p * 0.3 ? cam.wall2 : mix(cam.wall, cam.wall2, v / cam.horizon * 0.5);
    default: // checkerboard tiles
      return (Math.floor(u / p) + Math.floor(v / (p * 0.7))) % 2 ? cam.wall : cam.wall2;
  }
}

const bgCache = new WeakMap<Camera, Map<string, Float32Array>>();

/** The camera's background as W x H x 3 floats, computed once per camera and size. */
function cameraBackgroundPixels(cam: Camera, W: number, H: number): Float32Array {
  let m = bgCache.get(cam);
  if (!m) bgCache.set(cam, (m = new Map()));
  const key = `${W}x${H}`;
  let px = m.get(key);
  if (!px) {
    px = new Float32Array(W * H * 3);
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) px.set(cameraBackground(cam, x / W, y / H), (y * W + x) * 3);
    m.set(key, px);
  }
  return px;
}

function topColour(id: Identity, y: number, x: number, top: number, ph: number): RGB {
  const rel = (y - top) / ph; // 0 at the shoulders
  const per = id.stripe;
  switch (id.pattern) {
    case 'solid': return id.top;
    case 'hstripes': return Math.floor(rel / per) % 2 ? id.top2 : id.top;
    case 'vstripes': return Math.floor(x / ph / per) % 2 ? id.top2 : id.top;
    case 'checks': return (Math.floor(rel / per) + Math.floor(x / ph / per)) % 2 ? id.top2 : id.top;
    case 'twotone': return rel < 0.17 ? id.top : id.top2;
  }
}

export interface RenderOptions {
  height: number;
  width: number;
  confound: number;
  lighting: number;
  noise: number;
}

/** One picture of `id` seen by `cam`, varied by `r` (pose, placement, view, noise). Returns RGB bytes. */
export function renderImage(id: Identity, cam: Camera, r: Rng, o: RenderOptions): { rgb: Uint8Array; view: View } {
  const SS = 2; // supersampling factor
  const W = o.width * SS, H = o.height * SS;
  const c = new Canvas(W, H);
  // Background: the camera's own, blended with a neutral one by the confound strength.
  const camBg = cameraBackgroundPixels(cam, W, H);
  const grey = r.uniform(60, 200);
  const hz = Math.round(r.uniform(0.55, 0.8) * H);
  const k = o.confound;
  for (let y = 0; y < H; y++) {
    const g = (1 - k) * (y > hz ? grey * 0.8 : grey);
    for (let i = y * W * 3; i < (y + 1) * W * 3; i++) c.px[i] = g + k * camBg[i];
  }
  // Viewpoint drawn from the camera's distribution.
  let t = r.next();
  let view: View = cam.views[cam.views.length - 1][0];
  for (const [vw, p] of cam.views) { if (t < p) { view = vw; break; } t -= p; }
  const side = view === 'left' || view === 'right';
  const dir = view === 'left' ? -1 : 1;
  // Placement: height, feet, centre.
  const ph = H * id.heightFrac * cam.scale * r.uniform(0.95, 1.03);
  const feet = Math.min(H - 1, H * (0.98 + cam.yShift) - r.uniform(0, 0.03) * H);
  const topY = feet - ph;
  const cx = W / 2 + r.uniform(-0.08, 0.08) * W;
  const torsoHalf = ph * (side ? 0.075 : 0.105) * id.build;
  const shoulderY = topY + ph * 0.14;
  const waistY = topY + ph * 0.5;
  const swing = r.uniform(-1, 1) * ph * (side ? 0.08 : 0.03);
  const legHalf = ph * 0.045 * id.build;
  // Backpack behind the body when seen from the front/sides (drawn first).
  if (id.backpack && side) c.rect(cx - dir * torsoHalf * 2.1, shoulderY + ph * 0.02, cx - dir * torsoHalf * 0.6, topY + ph * 0.42, id.backpack);
  if (id.backpack && view === 'front') {
    c.limb(cx - torsoHalf * 0.7, shoulderY, cx - torsoHalf * 0.7, topY + ph * 0.35, ph * 0.012, id.backpack);
    c.limb(cx + torsoHalf * 0.7, shoulderY, cx + torsoHalf * 0.7, topY + ph * 0.35, ph * 0.012, id.backpack);
  }
  // Legs and shoes.
  const legColour = id.bottomKind === 'trousers' ? id.bottom : id.skin;
  const legX = side ? [0, 0] : [-torsoHalf * 0.5, torsoHalf * 0.5];
  const legSwing = [swing, -swing];
  for (let k = 0; k < 2; k++) {
    const xa = cx + legX[k], xb = cx + legX[k] + legSwing[k];
    c.limb(xa, waistY, xb, feet - ph * 0.04, legHalf, legColour);
    if (id.bottomKind === 'shorts') c.limb(xa, waistY, xa + legSwing[k] * 0.4, waistY + ph * 0.18, legHalf * 1.15, id.bottom);
    c.rect(xb - legHalf * 1.1 + (side ? dir * legHalf * 0.5 : 0), feet - ph * 0.045, xb + legHalf * 1.1 + (side ? dir * legHalf * 0.5 : 0), feet, id.shoes);
  }
  if (id.bottomKind === 'skirt') {
    c.fillRows(waistY - ph * 0.02, waistY + ph * 0.2, (y) => {
      const f = (y - waistY) / (ph * 0.2);
      const half = torsoHalf * (0.95 + 0.45 * Math.max(0, f));
      return [cx - half, cx + half];
    }, id.bottom);
  } else {
    c.rect(cx - torsoHalf * 0.95, waistY - ph * 0.02, cx + torsoHalf * 0.95, waistY + ph * 0.06, id.bottom);
  }
  // Torso with the clothing pattern (pattern in person coordinates, so it scales with the person).
  c.fillRows(shoulderY, waistY, () => [cx - torsoHalf, cx + torsoHalf], (x, y) => topColour(id, y, x - cx, shoulderY, ph));
  // Arms (sleeve then skin); in side views one arm in front of the torso.
  const armHalf = ph * 0.032 * id.build;
  const armXs = side ? [0] : [-torsoHalf - armHalf * 0.8, torsoHalf + armHalf * 0.8];
  for (const ax of armXs) {
    const hand = cx + ax - (side ? swing * 0.8 : 0);
    const elbowY = topY + ph * 0.32;
    const handY = topY + ph * 0.47;
    c.limb(cx + ax, shoulderY, (cx + ax + hand) / 2, elbowY, armHalf, id.top);
    c.limb((cx + ax + hand) / 2, elbowY, hand, handY, armHalf * 0.9, id.longSleeves ? id.top : id.skin);
    c.ellipse(hand, handY + armHalf * 0.4, armHalf * 0.9, armHalf, id.skin);
  }
  // Backpack seen from the back covers the upper torso.
  if (id.backpack && view === 'back') c.rect(cx - torsoHalf * 0.75, shoulderY + ph * 0.03, cx + torsoHalf * 0.75, topY + ph * 0.4, id.backpack);
  // Shoulder bag: strap across the torso and the bag at the hip.
  if (id.bag) {
    const s = side ? dir : id.bagSide;
    c.limb(cx - s * torsoHalf * 0.8, shoulderY, cx + s * torsoHalf * 0.9, waistY - ph * 0.02, ph * 0.012, id.bag);
    const bx0 = cx + s * torsoHalf * 0.6, bx1 = bx0 + s * ph * 0.11;
    c.rect(Math.min(bx0, bx1), waistY - ph * 0.06, Math.max(bx0, bx1), waistY + ph * 0.06, id.bag);
  }
  // Neck and head.
  c.rect(cx - ph * 0.025, topY + ph * 0.1, cx + ph * 0.025, shoulderY, id.skin);
  const headCy = topY + ph * 0.065;
  const headRx = ph * (side ? 0.05 : 0.055), headRy = ph * 0.065;
  if (id.longHair) c.rect(cx - headRx * 1.05 - (side ? dir * headRx * 0.4 : 0), headCy, cx + headRx * 1.05 - (side ? dir * headRx * 0.4 : 0), topY + ph * (view === 'back' ? 0.24 : 0.19), id.hair);
  c.ellipse(cx, headCy, headRx, headRy, view === 'back' ? id.hair : id.skin);
  if (view !== 'back') {
    // hair cap (shifted backwards in side views)
    c.fillRows(headCy - headRy, headCy - headRy * 0.35, (y) => {
      const tt = (y - headCy) / headRy;
      const half = headRx * Math.sqrt(Math.max(0, 1 - tt * tt));
      return [cx - half - (side ? dir * headRx * 0.3 : 0), cx + half - (side ? dir * headRx * 0.3 : 0)];
    }, id.hair);
  }
  if (id.hat) c.rect(cx - headRx * 1.25, headCy - headRy * 1.15, cx + headRx * 1.25, headCy - headRy * 0.45, id.hat);
  // Occasional occluder at the bottom (a bench, a passing object).
  if (r.next() < 0.1) {
    const oc = hsv(r.uniform(0, 360), r.uniform(0, 0.6), r.uniform(0.2, 0.8));
    const ox = r.uniform(-0.2, 0.6) * W;
    c.rect(ox, H * r.uniform(0.72, 0.85), ox + W * r.uniform(0.3, 0.6), H - 1, oc);
  }
  // Downsample, light, add noise, quantise.
  const out = new Uint8Array(o.width * o.height * 3);
  const light = o.lighting;
  const gain = cam.gain.map((g) => 1 + (g - 1) * light);
  const colourJitter = [r.uniform(-6, 6), r.uniform(-6, 6), r.uniform(-6, 6)];
  for (let y = 0; y < o.height; y++) {
    for (let x = 0; x < o.width; x++) {
      const side = 1 + cam.sideLight * light * ((x + 0.5) / o.width - 0.5) * 2;
      for (let ch = 0; ch < 3; ch++) {
        let s = 0;
        for (let dy = 0; dy < SS; dy++) for (let dx = 0; dx < SS; dx++) s += c.px[((y * SS + dy) * W + x * SS + dx) * 3 + ch];
        const v = (s / (SS * SS)) * gain[ch] * side + cam.brightness * light + colourJitter[ch] + r.normal() * o.noise;
        out[(y * o.width + x) * 3 + ch] = Math.max(0, Math.min(255, Math.round(v)));
      }
    }
  }
  return { rgb: out, view };
}
