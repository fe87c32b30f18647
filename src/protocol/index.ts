/** The pure protocol layer: wire types, codecs, task/result encoding. No I/O. */
export * from "./message";
export * from "./result-meta";
export * from "./serializers";
export { pyFloatRepr, pyJsonString, decodeKombuEnvelope, bytesEnvelope, PyFloat, pyFloat } from "./serializers/json";
export { compress, decompress, compressionMime, CompressionError } from "./compression";
export * from "./isotime";
export * from "./repr";
export * from "./exceptions";
export * from "./signature";
export * from "./decode";
export * from "./encode";
export * from "./exchanges";
export * from "./security";
