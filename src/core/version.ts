/** nativeip's version, as package.json says (test/unit/version.test.ts keeps the two equal). */
export const NATIVEIP_VERSION = '0.1.0';
