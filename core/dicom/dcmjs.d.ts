/** The part of dcmjs 0.51 (which ships no types) that this project uses. */
declare module 'dcmjs' {
  export interface DcmjsDictionaryEntry {
    /** '(GGGG,EEEE)' */
    tag: string;
    /** A DICOM VR, or one of dcmjs' ambiguous pseudo-VRs: 'ox' (OB/OW), 'xs' (US/SS), 'lt' (US/SS/OW), 'up' (UL), 'na' (items). */
    vr: string;
    vm: string;
    /** Keyword, prefixed 'RETIRED_' for retired attributes. */
    name: string;
    version: string;
  }

  export interface DcmjsJsonAttribute {
    vr: string;
    Value?: unknown[];
    InlineBinary?: string;
    BulkDataURI?: string;
  }
  export type DcmjsJsonDataset = Record<string, DcmjsJsonAttribute>;
  export type DcmjsNaturalDataset = Record<string, unknown>;

  export interface DcmjsReadOptions {
    ignoreErrors?: boolean;
    untilTag?: string | null;
    includeUntilTagValue?: boolean;
    noCopy?: boolean;
    forceStoreRaw?: boolean;
  }

  class DicomMetaDictionary {
    /** Lookup by '(GGGG,EEEE)' or 'GGGGEEEE' (upper-case). */
    static dictionary: Record<string, DcmjsDictionaryEntry | undefined>;
    /** Lookup by dcmjs name (keyword, 'RETIRED_' prefixed when retired). */
    static nameMap: Record<string, DcmjsDictionaryEntry | undefined>;
    static naturalizeDataset(dataset: DcmjsJsonDataset): DcmjsNaturalDataset;
    static denaturalizeDataset(dataset: DcmjsNaturalDataset): DcmjsJsonDataset;
    static punctuateTag(tag: string): string;
    static unpunctuateTag(tag: string): string;
  }

  class DicomDict {
    constructor(meta: DcmjsJsonDataset);
    meta: DcmjsJsonDataset;
    dict: DcmjsJsonDataset;
    write(options?: { allowInvalidVRLength?: boolean }): ArrayBuffer;
  }

  class DicomMessage {
    static readFile(buffer: ArrayBuffer, options?: DcmjsReadOptions): DicomDict;
  }

  const dcmjs: {
    data: {
      DicomMetaDictionary: typeof DicomMetaDictionary;
      DicomDict: typeof DicomDict;
      DicomMessage: typeof DicomMessage;
    };
  };
  export default dcmjs;
}
