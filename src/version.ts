/** The version of handover: written into bundles and shown by --version. */
export const VERSION = '0.1.0';
