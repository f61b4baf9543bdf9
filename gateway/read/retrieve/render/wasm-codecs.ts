/**
 * The WebAssembly decoders of compressed frames (the Cornerstone codec packages, which OHIF and Cornerstone3D
 * use in the browser): one instance of each module per thread, loaded on first use. They run in plain Node 20,
 * with nothing to compile or download at install.
 */

export interface FrameInfo {
  width: number;
  height: number;
  bitsPerSample: number;
  componentCount: number;
  isSigned?: boolean;
}

/** The decoder classes of the four packages share this interface. */
export interface WasmDecoder {
  getEncodedBuffer(length: number): Uint8Array;
  decode(): void;
  getDecodedBuffer(): Uint8Array;
  getFrameInfo(): FrameInfo;
  delete(): void;
}

type DecoderClass = new () => WasmDecoder;
export type CodecFactory = (options?: { print?: (text: string) => void; printErr?: (text: string) => void }) => Promise<Record<string, unknown>>;

export type WasmCodec = 'jpeg' | 'jpeg-ls' | 'jpeg2000' | 'htj2k';

const loaders: Record<WasmCodec, { load: () => Promise<{ default: CodecFactory }>; className: string }> = {
  jpeg: { load: () => import('@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasmjs'), className: 'JPEGDecoder' },
  'jpeg-ls': { load: () => import('@cornerstonejs/codec-charls/decodewasmjs'), className: 'JpegLSDecoder' },
  jpeg2000: { load: () => import('@cornerstonejs/codec-openjpeg/decodewasmjs'), className: 'J2KDecoder' },
  htj2k: { load: () => import('@cornerstonejs/codec-openjph/wasmjs'), className: 'HTJ2KDecoder' },
};

const modules = new Map<WasmCodec, Promise<DecoderClass>>();

function decoderClass(codec: WasmCodec): Promise<DecoderClass> {
  let loaded = modules.get(codec);
  if (!loaded) {
    const { load, className } = loaders[codec];
    // OpenJPEG prints progress on stdout: the gateway's log is JSON lines, keep it clean.
    const quiet = { print: () => undefined, printErr: () => undefined };
    loaded = load().then(async (m) => (await m.default(quiet))[className] as DecoderClass);
    loaded.catch(() => modules.delete(codec));
    modules.set(codec, loaded);
  }
  return loaded;
}

export interface WasmDecoded {
  info: FrameInfo;
  /** Interleaved samples, little endian, 1 byte each up to 8 bits, 2 beyond. */
  bytes: Uint8Array;
}

export async function decodeWithWasm(codec: WasmCodec, frame: Uint8Array): Promise<WasmDecoded> {
  const Decoder = await decoderClass(codec);
  const decoder = new Decoder();
  try {
    decoder.getEncodedBuffer(frame.length).set(frame);
    decoder.decode();
    const info = { ...decoder.getFrameInfo() };
    // The decoded buffer is a view of the module's memory, reused by the next decode: copy it out.
    return { info, bytes: decoder.getDecodedBuffer().slice() };
  } catch (error) {
    // A corrupt stream can leave the module's heap in any state: the next frame gets a fresh instance.
    modules.delete(codec);
    throw error;
  } finally {
    try {
      decoder.delete();
    } catch {
      // the module is being dropped anyway
    }
  }
}
