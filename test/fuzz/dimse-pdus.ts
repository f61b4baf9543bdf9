/**
 * DICOM Upper Layer PDUs (PS3.8 9.3) built byte by byte, and broken ones for fuzzing the DIMSE listener: truncated,
 * oversized, wrong lengths at every level (PDU, item, PDV), unknown types, random bytes.
 */
import type { Prng } from './prng.ts';

const APPLICATION_CONTEXT = '1.2.840.10008.3.1.1.1';
const VERIFICATION = '1.2.840.10008.1.1';
const CT_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.2';
const IMPLICIT_LE = '1.2.840.10008.1.2';
const EXPLICIT_LE = '1.2.840.10008.1.2.1';

function ae(title: string): Buffer {
  return Buffer.from(title.padEnd(16, ' ').slice(0, 16), 'latin1');
}

function item(type: number, value: Buffer): Buffer {
  const header = Buffer.alloc(4);
  header[0] = type;
  header.writeUInt16BE(value.length, 2);
  return Buffer.concat([header, value]);
}

function pdu(type: number, body: Buffer): Buffer {
  const header = Buffer.alloc(6);
  header[0] = type;
  header.writeUInt32BE(body.length, 2);
  return Buffer.concat([header, body]);
}

export function associateRq(calling: string, called: string): Buffer {
  const fixed = Buffer.alloc(68);
  fixed.writeUInt16BE(1, 0);
  ae(called).copy(fixed, 4);
  ae(calling).copy(fixed, 20);
  const context = (id: number, abstract: string) =>
    item(0x20, Buffer.concat([Buffer.from([id, 0, 0, 0]), item(0x30, Buffer.from(abstract)), item(0x40, Buffer.from(EXPLICIT_LE)), item(0x40, Buffer.from(IMPLICIT_LE))]));
  const maxLength = Buffer.alloc(4);
  maxLength.writeUInt32BE(16384);
  const userInfo = item(0x50, Buffer.concat([item(0x51, maxLength), item(0x52, Buffer.from('1.2.3.4'))]));
  return pdu(0x01, Buffer.concat([fixed, item(0x10, Buffer.from(APPLICATION_CONTEXT)), context(1, VERIFICATION), context(3, CT_IMAGE_STORAGE), userInfo]));
}

/** A P-DATA-TF with one PDV (control header: bit 0 command, bit 1 last fragment). */
export function pData(contextId: number, control: number, value: Buffer, pdvLengthDelta = 0): Buffer {
  const pdv = Buffer.alloc(6);
  pdv.writeUInt32BE(value.length + 2 + pdvLengthDelta, 0);
  pdv[4] = contextId;
  pdv[5] = control;
  return pdu(0x04, Buffer.concat([pdv, value]));
}

export const RELEASE_RQ = pdu(0x05, Buffer.alloc(4));

/** A hostile byte sequence for one connection, named for the failure report. */
export function hostileConnection(prng: Prng, calling: string, called: string): { name: string; bytes: Buffer } {
  const rq = associateRq(calling, called);
  const kind = prng.int(10);
  switch (kind) {
    case 0:
      return { name: 'truncated A-ASSOCIATE-RQ', bytes: rq.subarray(0, prng.between(1, rq.length - 1)) };
    case 1: {
      const big = Buffer.from(rq);
      big.writeUInt32BE(prng.pick([0xffffffff, 0x7fffffff, 64 * 1024 * 1024]), 2);
      return { name: 'A-ASSOCIATE-RQ announcing a huge length', bytes: big };
    }
    case 2: {
      const wrong = Buffer.from(rq);
      const at = prng.between(74, wrong.length - 2);
      wrong.writeUInt16BE(prng.int(65536), at);
      return { name: `A-ASSOCIATE-RQ with a wrong item length at ${at}`, bytes: wrong };
    }
    case 3:
      return { name: 'P-DATA-TF before any association', bytes: pData(1, 3, Buffer.alloc(32)) };
    case 4: {
      const huge = Buffer.alloc(6);
      huge[0] = 0x04;
      huge.writeUInt32BE(0xfffffff0, 2);
      return { name: 'P-DATA-TF announcing 4 GB after an association', bytes: Buffer.concat([rq, huge, prng.bytes(prng.between(0, 4096))]) };
    }
    case 5:
      return { name: 'P-DATA-TF whose PDV claims more than the PDU holds', bytes: Buffer.concat([rq, pData(1, 3, prng.bytes(40), prng.between(1, 100000))]) };
    case 6:
      return { name: 'P-DATA-TF with a garbage command set', bytes: Buffer.concat([rq, pData(1, 3, prng.bytes(prng.between(0, 300)))]) };
    case 7:
      return { name: 'unknown PDU type', bytes: Buffer.concat([pdu(prng.pick([0x00, 0x08, 0x09, 0x7f, 0xff]), prng.bytes(prng.between(0, 64)))]) };
    case 8:
      return { name: 'P-DATA-TF on an unknown presentation context', bytes: Buffer.concat([rq, pData(prng.pick([0, 2, 99, 255]), 3, prng.bytes(64))]) };
    default:
      return { name: 'random bytes', bytes: prng.bytes(prng.between(1, 8192)) };
  }
}
