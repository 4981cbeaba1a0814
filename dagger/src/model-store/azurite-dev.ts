/**
 * Azurite's development account. The key is the emulator's published, well-known value
 * (documented by Microsoft for every Azurite install), not a secret; it is still handed to
 * containers as a Dagger Secret so every credential takes the same path.
 */
export const AZURITE_ACCOUNT = "devstoreaccount1";
export const AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
/** Port the Azurite image serves Blob on. */
export const AZURITE_BLOB_PORT = 10000;
