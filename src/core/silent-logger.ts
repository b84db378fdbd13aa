/** A logger that drops everything: the default of parts that take an optional logger. */
export const SILENT_LOGGER = Object.freeze({
  debug(): void {},
  info(): void {},
  warn(): void {},
  error(): void {},
});
