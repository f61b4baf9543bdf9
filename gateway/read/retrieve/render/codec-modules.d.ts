// The Cornerstone codec packages (Emscripten builds of libjpeg-turbo, CharLS, OpenJPEG, OpenJPH) ship no
// TypeScript declarations: their factories, as wasm-codecs.ts uses them.
declare module '@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasmjs' {
  const factory: import('./wasm-codecs.ts').CodecFactory;
  export default factory;
}
declare module '@cornerstonejs/codec-charls/decodewasmjs' {
  const factory: import('./wasm-codecs.ts').CodecFactory;
  export default factory;
}
declare module '@cornerstonejs/codec-openjpeg/decodewasmjs' {
  const factory: import('./wasm-codecs.ts').CodecFactory;
  export default factory;
}
declare module '@cornerstonejs/codec-openjph/wasmjs' {
  const factory: import('./wasm-codecs.ts').CodecFactory;
  export default factory;
}
