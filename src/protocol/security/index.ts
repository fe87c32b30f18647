/** Celery's message signing (the `auth` serializer): certificates, the trusted store, signing and verifying. Pure. */
export { AuthSerializer, privateKeyFromPem } from "./auth-serializer";
export type { AuthSerializerOptions, InnerSerializer, SignatureLayout } from "./auth-serializer";
export { Certificate, CertStore } from "./certificate";
export { SecurityError } from "./errors";
