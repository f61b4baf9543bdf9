/**
 * The DICOM data dictionary (PS3.6), from dcmjs: keyword <-> tag <-> VR. Tags are 8 upper-case hex digits
 * ('00100010'), the form used as DICOM JSON keys.
 */
import dcmjs from 'dcmjs';

const { DicomMetaDictionary } = dcmjs.data;

const RETIRED_PREFIX = 'RETIRED_';
const TAG_PATTERN = /^[0-9A-F]{8}$/;

/** '00100010', '0010,0010', '(0010,0010)' or lower-case forms -> '00100010'; undefined when not a tag. */
export function normalizeTag(tag: string): string | undefined {
  const hex = tag.replace(/[(),]/g, '').toUpperCase();
  return TAG_PATTERN.test(hex) ? hex : undefined;
}

/** 'PatientName' -> '00100010'. Retired attributes are found by their plain keyword too. */
export function tagForKeyword(keyword: string): string | undefined {
  const entry = DicomMetaDictionary.nameMap[keyword] ?? DicomMetaDictionary.nameMap[RETIRED_PREFIX + keyword];
  if (!entry || keyword.startsWith(RETIRED_PREFIX)) return undefined;
  return normalizeTag(entry.tag);
}

/** '00100010' -> 'PatientName' (the PS3.6 keyword, without dcmjs' 'RETIRED_' prefix). */
export function keywordForTag(tag: string): string | undefined {
  const hex = normalizeTag(tag);
  if (!hex) return undefined;
  const name = DicomMetaDictionary.dictionary[hex]?.name;
  return name?.startsWith(RETIRED_PREFIX) ? name.slice(RETIRED_PREFIX.length) : name;
}

/**
 * The VR the dictionary gives a tag, with dcmjs' pseudo-VRs resolved to their usual choice: OB-or-OW -> OW,
 * US-or-SS -> US, US-or-SS-or-OW (LUT data) -> OW, 'up' -> UL. Group lengths are UL, private creators LO.
 * Undefined for unknown and private tags and for the item delimitation tags.
 */
export function vrForTag(tag: string): string | undefined {
  const hex = normalizeTag(tag);
  if (!hex) return undefined;
  if (hex.endsWith('0000')) return 'UL';
  const group = parseInt(hex.slice(0, 4), 16);
  const element = parseInt(hex.slice(4), 16);
  if (group % 2 === 1) return element >= 0x10 && element <= 0xff ? 'LO' : undefined;
  return resolvePseudoVr(DicomMetaDictionary.dictionary[hex]?.vr);
}

function resolvePseudoVr(vr: string | undefined): string | undefined {
  switch (vr) {
    case undefined:
    case 'na':
      return undefined;
    case 'ox':
    case 'lt':
      return 'OW';
    case 'xs':
      return 'US';
    case 'up':
      return 'UL';
    default:
      return vr;
  }
}

/** The raw dcmjs dictionary VR, pseudo-VRs included (for the implicit VR reader). */
export function dictionaryVr(tag: number): string | undefined {
  return DicomMetaDictionary.dictionary[tagHex(tag)]?.vr;
}

const hexCache = new Map<number, string>();

/** 0x00100010 -> '00100010' */
export function tagHex(tag: number): string {
  let hex = hexCache.get(tag);
  if (hex === undefined) {
    hex = (tag >>> 0).toString(16).toUpperCase().padStart(8, '0');
    if (hexCache.size < 100_000) hexCache.set(tag, hex);
  }
  return hex;
}

/** 0x00100010 -> '(0010,0010)', for messages. */
export function tagLabel(tag: number): string {
  const hex = tagHex(tag);
  return `(${hex.slice(0, 4)},${hex.slice(4)})`;
}
