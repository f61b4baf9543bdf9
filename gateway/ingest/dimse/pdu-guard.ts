/**
 * Checks the framing of the PDUs a peer sends (PS3.8 9.3) before the DICOM network library reads them: the library
 * gathers each PDU whole in memory whatever length it announces, and keeps a connection open after a PDU it could
 * not read. A type an association acceptor never receives, or a length beyond what it may announce, ends the
 * connection: memory stays bounded and the listener keeps serving everyone else.
 */

/** The largest P-DATA-TF variable field we accept, as announced in our A-ASSOCIATE-AC (Maximum Length). */
export const MAX_PDATA_LENGTH = 256 * 1024;
/** An A-ASSOCIATE-RQ with many presentation contexts and user identity stays far below this. */
const MAX_ASSOCIATE_RQ_LENGTH = 1024 * 1024;

const LIMITS: Record<number, { min: number; max: number; name: string }> = {
  0x01: { min: 68, max: MAX_ASSOCIATE_RQ_LENGTH, name: 'A-ASSOCIATE-RQ' },
  0x04: { min: 6, max: MAX_PDATA_LENGTH, name: 'P-DATA-TF' },
  0x05: { min: 4, max: 4, name: 'A-RELEASE-RQ' },
  0x06: { min: 4, max: 4, name: 'A-RELEASE-RP' },
  0x07: { min: 4, max: 4, name: 'A-ABORT' },
};

export class PduGuard {
  private header = Buffer.alloc(0);
  /** Bytes of the current PDU's variable field still to come. */
  private remaining = 0;
  private pdus = 0;

  /** Returns why the stream is not acceptable, or undefined while it is. */
  feed(chunk: Buffer): string | undefined {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.remaining > 0) {
        const take = Math.min(this.remaining, chunk.length - offset);
        this.remaining -= take;
        offset += take;
        continue;
      }
      const need = 6 - this.header.length;
      this.header = Buffer.concat([this.header, chunk.subarray(offset, offset + need)]);
      offset += Math.min(need, chunk.length - offset);
      if (this.header.length < 6) return undefined;
      const type = this.header[0];
      const length = this.header.readUInt32BE(2);
      this.header = Buffer.alloc(0);
      const limits = LIMITS[type];
      if (!limits) return `PDU type 0x${type.toString(16).padStart(2, '0')} is not one an association acceptor receives`;
      if (type === 0x01 && this.pdus > 0) return 'a second A-ASSOCIATE-RQ on an open association';
      if (type !== 0x01 && this.pdus === 0) return `${limits.name} before any A-ASSOCIATE-RQ`;
      if (length < limits.min || length > limits.max) {
        return `${limits.name} announces ${length} bytes; it must be ${limits.min === limits.max ? limits.min : `${limits.min} to ${limits.max}`}`;
      }
      this.pdus += 1;
      this.remaining = length;
    }
    return undefined;
  }
}

/** A-ABORT from the service provider, reason "invalid PDU parameter value" (PS3.8 9.3.8). */
export const ABORT_INVALID_PDU = Buffer.from([0x07, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x02, 0x06]);
